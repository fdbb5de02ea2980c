"""How order events reach the ERP: one adapter per transport, chosen by configuration."""
