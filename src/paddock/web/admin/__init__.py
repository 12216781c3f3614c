"""The admin pages: what a centre admin did with the CLI or the API before, each page calling
the owning domain's use cases. Centre admins only (`accounts.access.ADMIN_ONLY`):

- `users`: people who sign in; open an account, deactivate or reactivate, reset a password
  (a temporary password shown once to the admin, who hands it over);
- `dealers`: the dealer network and each dealer's test-drive places per site and month;
- `products`: every product and its price (an exact amount in a currency);
- `sites`: each experience centre's year one (opening day, targets) and opening hours, with
  its closures (made on the operations fleet page).
"""

from __future__ import annotations

from typing import Annotated

from paddock.accounts.access import ADMIN_ONLY
from paddock.accounts.service import Principal
from paddock.web.deps import page_rule

AdminPage = Annotated[Principal, page_rule(ADMIN_ONLY)]
