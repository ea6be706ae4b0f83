"""The dashboard's polled aggregates and the automation status (frontend-contract §1.8)."""
