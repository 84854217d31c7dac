"""Policy-as-code review: join the inventory with imports, run the checks, produce a Review."""
