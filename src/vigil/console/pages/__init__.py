"""The console's pages, one module per area: sign-in and settings, the queue and cases, appeals, banks, the dashboard."""
