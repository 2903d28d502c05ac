"""Each buyer's price from Sonet's price lists (contract 1.1, README "Price lists"): pure, no Dagster."""
