"""Building a stand-in from its settings: companies with their seed data (price list lines from their
items and customers), and the journal replayed.

Seed data is generated again on every start (the same seed gives the same data); with a state file,
the journal then puts back every change and accepted order since, and records what follows.
"""

from __future__ import annotations

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.standin import seed_data
from sonet_pipeline.standin.journal import Journal
from sonet_pipeline.standin.runtime import Standin, StandinConfig
from sonet_pipeline.standin.seed_price_lists import generate_price_list_lines


def build_standin(config: StandinConfig, clock: Clock | None = None) -> Standin:
    """A stand-in with every company's seed data loaded and, with `config.state_file`, its journal."""
    standin = Standin(config, clock)
    # The seed data's fixed epoch keeps it identical across restarts; a clock set earlier moves it back.
    now = standin.clock.now()
    epoch = min(seed_data.DEFAULT_EPOCH, now.replace(hour=0, minute=0, second=0, microsecond=0))
    for company in standin.companies.values():
        settings = company.config
        data = seed_data.generate_company(
            settings.seed, items=settings.items, customers=settings.customers, epoch=epoch
        )
        company.state.load("customerSegments", data.customer_segments)
        company.state.load("customers", data.customers)
        company.state.load("items", data.items)
        lines = generate_price_list_lines(
            settings.seed,
            items=company.state.snapshot("items"),
            customers=company.state.snapshot("customers"),
            epoch=epoch,
        )
        company.state.load("priceListLines", lines)
    if config.state_file:
        journal = Journal(config.state_file)
        journal.replay(standin)
        standin.change_log = journal
    return standin
