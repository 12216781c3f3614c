"""The experience centres as data. Facts from shared/domain/BRIEF.md (press sources): Atlanta
opened May 2015 with a 1.6-mile circuit of six modules and a fleet of about 77 cars; 90-minute
1:1 coached sessions, a classroom brief, arrive 30 minutes early; Carrera S $600, GT3
$1,000-1,200 (2022-23); simulator $35 per 30 minutes (LA 2016). Los Angeles (Carson) opened
Nov 2016 with eight modules over 4.1 miles. Counts not in the sources are plausible guesses."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PoolSpec:
    code: str
    kind: str
    name: str
    units: int = 0  # units made for this pool alone (cars, positions, rigs, bays)
    unit_prefix: str = ""


@dataclass(frozen=True)
class CoachSpec:
    name: str
    qualifications: tuple[str, ...]
    # Weekdays worked (0 = Monday) and the shift in local time.
    weekdays: tuple[int, ...]
    shift: tuple[str, str]


@dataclass(frozen=True)
class DemandSpec:
    pool: str
    minutes: int
    offset: int = 0
    quantity: int = 1


@dataclass(frozen=True)
class ProductSpec:
    code: str
    name: str
    category: str
    minutes: int
    price: int  # whole units of the site's currency
    demands: tuple[DemandSpec, ...]
    step: int = 30
    public: bool = True
    description: str = ""


@dataclass(frozen=True)
class SiteSpec:
    code: str
    name: str
    city: str
    time_zone: str
    hours: dict[int, tuple[str, str]]
    pools: tuple[PoolSpec, ...]
    coaches: tuple[CoachSpec, ...]
    products: tuple[ProductSpec, ...]
    description: str = ""
    coach_pool_names: dict[str, str] = field(default_factory=dict)
    currency: str = "USD"  # ISO 4217: what the site's products are priced in
    # Year one's targets: the site's share of the network's 20,000 drivers, and of test drives
    # from dealers in basis points. (The demo's sites open on the first day of its history.)
    drivers_target: int | None = None
    dealer_share_target_bp: int | None = None
    phone: str = ""  # the front desk (fictional 555 numbers)


def cancellation_policy(spec: ProductSpec) -> tuple[int, int | None]:
    """A realistic policy: (free until N hours before, late fee in whole units or None for the
    whole price). Coached drives: free until 72 hours, then the whole price (the car and the
    coach are held for the guest); short simulator sessions: free until 24 hours, then half."""
    if spec.category == "simulator":
        return 24, spec.price // 2
    return 72, None


def _session(
    code: str, car_pool: str, name: str, price: int, *, gt: bool = False, description: str = ""
) -> ProductSpec:
    """A 90-minute 1:1 coached drive: brief, handling circuit, kick plate, low-friction."""
    return ProductSpec(
        code=code,
        name=name,
        category="driving",
        minutes=90,
        price=price,
        description=description
        or "90 minutes, one driver with one coach in the passenger seat; classroom brief first.",
        demands=(
            DemandSpec("classroom", 15),
            DemandSpec(car_pool, 75, offset=15),
            DemandSpec("coach-gt" if gt else "coach-driving", 90),
            DemandSpec("handling-circuit", 40, offset=15),
            DemandSpec("kick-plate", 10, offset=55),
            DemandSpec("low-friction-circle", 25, offset=65),
        ),
    )


WEEK = dict.fromkeys(range(6), ("08:00", "18:00")) | {6: ("10:00", "17:00")}

_ATL_COACH_NAMES = (
    "Avery Brooks",
    "Jordan Hale",
    "Casey Morgan",
    "Riley Chen",
    "Taylor Reyes",
    "Morgan Diaz",
    "Jamie Patel",
    "Quinn Walker",
    "Drew Foster",
    "Cameron Lee",
    "Skyler Grant",
    "Reese Kim",
    "Parker Evans",
    "Rowan Price",
    "Hayden Cole",
    "Emerson Ward",
    "Finley Ross",
    "Logan Hayes",
    "Sawyer Bell",
    "Blake Turner",
    "Dakota Ellis",
    "Harper Stone",
    "Kendall Young",
    "Sage Rivera",
)


def _atlanta_coaches() -> tuple[CoachSpec, ...]:
    coaches = []
    for i, name in enumerate(_ATL_COACH_NAMES):
        quals = ["coach-driving"]
        if i % 3 == 0:
            quals.append("coach-gt")
        if i % 4 == 1:
            quals.append("coach-offroad")
        # Five days a week, staggered so every day is covered; early and late shifts.
        days = tuple(sorted({(i + k) % 7 for k in range(5)}))
        shift = ("08:00", "16:30") if i % 2 == 0 else ("09:30", "18:00")
        coaches.append(CoachSpec(name, tuple(quals), days, shift))
    return tuple(coaches)


ATLANTA = SiteSpec(
    code="ATL",
    phone="+1 404-555-0134",
    name="Porsche Experience Center Atlanta",
    city="Atlanta, Georgia",
    time_zone="America/New_York",
    drivers_target=12_000,
    dealer_share_target_bp=1500,
    description="One Porsche Drive: 1.6-mile circuit and driving school, simulators, museum, "
    "Restaurant 356, auditorium, Classic restoration workshop, delivery area.",
    hours=WEEK,
    pools=(
        # Circuit modules: a pool of positions, one per car the module takes at once.
        PoolSpec("handling-circuit", "module", "Handling circuit", 8, "Handling circuit pos."),
        PoolSpec(
            "low-friction-handling",
            "module",
            "Low-friction handling circuit",
            4,
            "Low-friction handling pos.",
        ),
        PoolSpec("low-friction-circle", "module", "Low-friction circle", 3, "LF circle pos."),
        PoolSpec("kick-plate", "module", "Kick plate", 2, "Kick plate lane"),
        PoolSpec("off-road", "module", "Off-road course", 4, "Off-road pos."),
        PoolSpec("dynamics-area", "module", "Dynamics area", 6, "Dynamics pos."),
        PoolSpec("classroom", "seat", "Classroom brief seats", 24, "Classroom seat"),
        # The fleet: about 77 cars across the range (BRIEF: fleet about 77 cars, 2015).
        PoolSpec("911-carrera-s", "vehicle_model", "911 Carrera S", 12, "911 Carrera S"),
        PoolSpec("911-turbo-s", "vehicle_model", "911 Turbo S", 6, "911 Turbo S"),
        PoolSpec("911-gt3", "vehicle_model", "911 GT3", 6, "911 GT3"),
        PoolSpec("718-cayman", "vehicle_model", "718 Cayman GTS", 10, "718 Cayman GTS"),
        PoolSpec("taycan", "vehicle_model", "Taycan 4S", 11, "Taycan 4S"),
        PoolSpec("cayenne", "vehicle_model", "Cayenne", 10, "Cayenne"),
        PoolSpec("macan", "vehicle_model", "Macan", 12, "Macan"),
        PoolSpec("panamera", "vehicle_model", "Panamera 4", 10, "Panamera 4"),
        PoolSpec("coach-driving", "coach", "Driving coaches"),
        PoolSpec("coach-gt", "coach", "GT-qualified coaches"),
        PoolSpec("coach-offroad", "coach", "Off-road coaches"),
        PoolSpec("simulator", "simulator", "Simulator rigs", 8, "Simulator rig"),
        PoolSpec("delivery-bay", "bay", "Delivery handover bays", 3, "Handover bay"),
        PoolSpec(
            "delivery-specialist", "specialist", "Delivery specialists", 4, "Delivery specialist"
        ),
        PoolSpec("restoration-bay", "bay", "Classic restoration bays", 14, "Restoration bay"),
    ),
    coaches=_atlanta_coaches(),
    products=(
        _session("atl-911-carrera-s", "911-carrera-s", "911 Carrera S driving experience", 600),
        _session("atl-911-turbo-s", "911-turbo-s", "911 Turbo S driving experience", 950, gt=True),
        _session("atl-911-gt3", "911-gt3", "911 GT3 driving experience", 1100, gt=True),
        _session("atl-718-cayman", "718-cayman", "718 Cayman driving experience", 450),
        _session("atl-taycan", "taycan", "Taycan driving experience", 500),
        _session("atl-panamera", "panamera", "Panamera driving experience", 450),
        _session("atl-macan", "macan", "Macan driving experience", 400),
        ProductSpec(
            "atl-cayenne-off-road",
            "Cayenne off-road experience",
            "driving",
            90,
            450,
            (
                DemandSpec("classroom", 15),
                DemandSpec("cayenne", 75, offset=15),
                DemandSpec("coach-offroad", 90),
                DemandSpec("off-road", 75, offset=15),
            ),
            description="90 minutes on the off-road course with an off-road coach.",
        ),
        ProductSpec(
            "atl-taycan-vs-911",
            "Two-car comparison: Taycan and 911",
            "driving",
            120,
            1050,
            (
                DemandSpec("classroom", 15),
                DemandSpec("taycan", 50, offset=15),
                DemandSpec("911-carrera-s", 50, offset=70),
                DemandSpec("coach-driving", 120),
                DemandSpec("handling-circuit", 45, offset=15),
                DemandSpec("dynamics-area", 45, offset=70),
            ),
            description="Back to back on the handling circuit and the dynamics area.",
        ),
        ProductSpec(
            "atl-simulator-30",
            "Simulator session, 30 minutes",
            "simulator",
            30,
            35,
            (DemandSpec("simulator", 30),),
            step=30,
            description="A professional racing simulator in the simulator lab.",
        ),
        ProductSpec(
            "atl-delivery",
            "Delivery with first miles on the circuit",
            "delivery",
            120,
            0,
            (
                DemandSpec("delivery-bay", 60),
                DemandSpec("delivery-specialist", 120),
                DemandSpec("handling-circuit", 30, offset=75),
            ),
            step=60,
            public=False,
            description="Take delivery of your new car with a delivery specialist, then drive "
            "its first miles on the circuit.",
        ),
    ),
)

LOS_ANGELES = SiteSpec(
    code="LA",
    phone="+1 310-555-0172",
    name="Porsche Experience Center Los Angeles",
    city="Carson, California",
    time_zone="America/Los_Angeles",
    drivers_target=8_000,
    dealer_share_target_bp=1500,
    description="53 acres, 4.1 miles of track in eight modules (opened November 2016).",
    hours=WEEK,
    pools=(
        PoolSpec("handling-circuit", "module", "Handling circuit", 10, "Handling circuit pos."),
        PoolSpec("acceleration-straight", "module", "Acceleration straight", 2, "Straight lane"),
        PoolSpec("kick-plate", "module", "Kick plate", 2, "Kick plate lane"),
        PoolSpec("ice-hill", "module", "Ice hill", 2, "Ice hill lane"),
        PoolSpec("low-friction-circle", "module", "Low-friction circle", 3, "LF circle pos."),
        PoolSpec("classroom", "seat", "Classroom brief seats", 20, "Classroom seat"),
        PoolSpec("911-carrera-s", "vehicle_model", "911 Carrera S", 8, "911 Carrera S"),
        PoolSpec("taycan", "vehicle_model", "Taycan 4S", 6, "Taycan 4S"),
        PoolSpec("coach-driving", "coach", "Driving coaches"),
        PoolSpec("coach-gt", "coach", "GT-qualified coaches"),
        PoolSpec("simulator", "simulator", "Simulator rigs", 6, "Simulator rig"),
    ),
    coaches=tuple(
        CoachSpec(
            name,
            ("coach-driving",) + (("coach-gt",) if i % 3 == 0 else ()),
            tuple(sorted({(i + k) % 7 for k in range(5)})),
            ("08:00", "16:30") if i % 2 == 0 else ("09:30", "18:00"),
        )
        for i, name in enumerate(
            (
                "Alex Romero",
                "Bailey Nguyen",
                "Charlie Ortiz",
                "Devon Park",
                "Elliot Shah",
                "Frankie Moss",
                "Gray Lopez",
                "Harley Wu",
                "Indy Fox",
                "Jules Carter",
            )
        )
    ),
    products=(
        _session("la-911-carrera-s", "911-carrera-s", "911 Carrera S driving experience (LA)", 600),
        _session("la-taycan", "taycan", "Taycan driving experience (LA)", 500),
        ProductSpec(
            "la-simulator-30",
            "Simulator session, 30 minutes (LA)",
            "simulator",
            30,
            35,
            (DemandSpec("simulator", 30),),
        ),
    ),
)

SITES = (ATLANTA, LOS_ANGELES)
