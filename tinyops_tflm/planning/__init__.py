"""Planning: boards and their timing, the partitioned planner, the plan
writer, and the latency/schedule cost models."""
