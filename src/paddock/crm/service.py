"""CRM use cases in one place for the interfaces (API, CLI, demo). Each public function owns its
transaction; the modules behind them hold the logic:

- `people`: people, consents, lists, visit history, linking bookings to people by e-mail;
- `merge`: merging duplicates; `privacy`: export and erasure on request;
- `sales`: sales reported or imported, and the conversions they prove;
- `deliveries`: deliveries of customers' cars at the headquarters.
"""

from __future__ import annotations

from paddock.accounts.service import dealer_codes
from paddock.crm.deliveries import DeliveryResult, schedule_delivery
from paddock.crm.merge import MergeResult, merge_people
from paddock.crm.people import (
    LinkReport,
    Visit,
    create_person,
    find_by_email,
    get_person,
    link_bookings,
    list_people,
    normalise_email,
    set_consents,
    update_person,
    vehicles_of,
    visits,
)
from paddock.crm.privacy import erase_person, export_person
from paddock.crm.sales import (
    ImportReport,
    RowError,
    SaleInput,
    SaleResult,
    import_sales_csv,
    list_sales,
    parse_sales_csv,
    record_sale,
)

__all__ = [
    "DeliveryResult",
    "ImportReport",
    "LinkReport",
    "MergeResult",
    "RowError",
    "SaleInput",
    "SaleResult",
    "Visit",
    "create_person",
    "dealer_codes",
    "erase_person",
    "export_person",
    "find_by_email",
    "get_person",
    "import_sales_csv",
    "link_bookings",
    "list_people",
    "list_sales",
    "merge_people",
    "normalise_email",
    "parse_sales_csv",
    "record_sale",
    "schedule_delivery",
    "set_consents",
    "update_person",
    "vehicles_of",
    "visits",
]
