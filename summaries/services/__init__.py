"""Summary services: jobs, running them, usage and budgets. Front doors import from the submodules."""
