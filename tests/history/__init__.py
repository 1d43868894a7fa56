"""A Jepsen-style history of clients against a real server, and a checker for it.

`model` records what clients did and saw (writes with their outcome, deliveries
to subscribers, reads); `checker` judges that record against the server's change
log and final documents; `workload` runs the clients; `powerfs` is a FUSE file
system that can lose power.
"""
