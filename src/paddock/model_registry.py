"""Imports every domain's models so the metadata is complete (migrations, test schemas)."""

from paddock.accounts import models as account_models  # noqa: F401
from paddock.audit import models as audit_models  # noqa: F401
from paddock.bookings import models as booking_models  # noqa: F401
from paddock.capacity import models as capacity_models  # noqa: F401
from paddock.catalog import models as catalog_models  # noqa: F401
from paddock.crm import models as crm_models  # noqa: F401
from paddock.db import Base
from paddock.dealers import models as dealer_models  # noqa: F401
from paddock.mail import models as mail_models  # noqa: F401
from paddock.motorsport import models as motorsport_models  # noqa: F401
from paddock.rollup import models as rollup_models  # noqa: F401
from paddock.throttle import throttle_counter  # noqa: F401
from paddock.webhooks import models as webhook_models  # noqa: F401

metadata = Base.metadata
