"""The whole OpenAPI fuzzed with schemathesis (tests/fuzzing.py), short enough for CI: one
generated request per operation, mode (valid, schema-breaking) and caller (anonymous, a
staff session cookie), about 400 in all. No answer may be a 5xx, and every error must be
application/problem+json. `make fuzz` runs the same with many more requests."""

from __future__ import annotations

from tests.fuzzing import fuzz, fuzz_app, prepare


def test_every_operation_answers_below_500_with_errors_as_problems(database_url: str) -> None:
    app = fuzz_app(database_url)
    prepare(app)
    tally = fuzz(app, examples=1)
    assert len(tally.operations) > 100 and tally.requests > 300, tally.report()
    assert not tally.findings, tally.report()
