"""Where the benchmark runs: scales, databases, ports and files."""

from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DOCS_FILE = ROOT / "docs" / "performance.md"
VENV_BIN = ROOT / ".venv" / "bin"

PG_SERVER = "postgres@127.0.0.1:5432"
# The servers and the token minter share this secret; it is a bench-only value.
JWT_SECRET = "salesflow-bench-secret-not-for-production"


@dataclass(frozen=True)
class Scale:
    """How much data one scale holds, and how the people who own it are organised."""

    name: str
    customers: int
    deals: int
    tickets: int
    teams: int
    reps_per_team: int
    agents: int
    # Converted leads point at a customer; open leads are extra. Shares of `customers`.
    converted_lead_share: float = 0.3
    open_lead_share: float = 0.2
    # Quotes for deals that reached the proposal stage, at most this many.
    max_quotes: int = 10_000
    # The one-way write scenarios act on each record once per run, so a run needs a pool
    # of them: a deal in the proposal stage carries this many quotes (its offer and
    # alternatives still in draft), and this many tickets are the fresh intake, new and
    # assigned, that `ticket_respond` answers. A run of 10 s at ~500 requests/s uses 5,000.
    quote_options: int = 1
    intake_tickets: int = 6_000

    @property
    def database(self) -> str:
        return f"salesflow_bench_{self.name}"


SCALES = {
    "small": Scale(
        "small", 10_000, 50_000, 20_000, teams=4, reps_per_team=6, agents=8, quote_options=4
    ),
    # The reports' dataset: a million deals, a year and more of history.
    "medium": Scale(
        "medium",
        200_000,
        1_000_000,
        200_000,
        teams=10,
        reps_per_team=10,
        agents=20,
        max_quotes=50_000,
    ),
    "large": Scale(
        "large",
        1_000_000,
        5_000_000,
        1_000_000,
        teams=10,
        reps_per_team=10,
        agents=40,
        max_quotes=200_000,
        intake_tickets=20_000,
    ),
    # A few seconds' worth, for the unit tests and a quick smoke run.
    "tiny": Scale(
        "tiny",
        500,
        2_000,
        500,
        teams=2,
        reps_per_team=3,
        agents=2,
        max_quotes=300,
        quote_options=2,
        intake_tickets=200,
    ),
}


def database_url(name: str, driver: str = "postgresql+asyncpg") -> str:
    return f"{driver}://{PG_SERVER}/{name}"


def dsn(name: str) -> str:
    """The plain libpq form asyncpg takes."""
    return database_url(name, "postgresql")
