"""Being built."""

from paddock.web.deps import page_router

router = page_router()
