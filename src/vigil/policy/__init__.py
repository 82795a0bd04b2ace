"""Policy: every rule that turns evidence into a verdict, a priority, a deadline, a queue or an automatic action.

- verdict.py: the one verdict rule, shared by /v1/check and notice intake;
- priority.py: priority scores and deadlines (the one-hour TCO deadline for removal orders);
- routing.py: which queue a case goes to;
- cases.py: the operator's notice-and-action settings (queues, service levels, retention, automatic action).
"""
