"""SpiffWorkflow 3.2.0 side of tests/load/engine_peers.sh.

Parses the BPMN file once, then runs N instances of its process one after another on this
thread: create a BpmnWorkflow, do_engine_steps (start event to the first user task), then
complete each READY user task in turn (task.run(), do_engine_steps) until the workflow is
completed. One step = starting an instance or completing one user task, as for Tongban and
bpmn-engine, so a 5-task chain is 6 steps. Only the instance loop is timed.

    python spiff_chain.py chain.bpmn [N [WARMUP]]   # prints: spiff steps=... seconds=... steps_per_sec=...

WARMUP instances (default N/5, at least 1) run first, untimed, as in the other two runners.
"""

import sys
import time

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.util.task import TaskState


def run_one(spec):
    wf = BpmnWorkflow(spec)
    wf.do_engine_steps()
    steps = 1
    while not wf.is_completed():
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        if len(ready) != 1:
            raise SystemExit(f"expected one READY user task, found {[t.task_spec.name for t in ready]}")
        ready[0].run()
        wf.do_engine_steps()
        steps += 1
    return steps


def main():
    if len(sys.argv) < 2:
        raise SystemExit("usage: spiff_chain.py FILE.bpmn [INSTANCES [WARMUP]]")
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else max(1, n // 5)
    parser = BpmnParser()
    parser.add_bpmn_file(path)
    spec = parser.get_spec(parser.get_process_ids()[0])
    # Warm-up and check, outside the timing: every instance must run the 5 user tasks.
    for _ in range(warmup):
        if run_one(spec) != 6:
            raise SystemExit("the chain is not start + 5 user tasks")
    steps = 0
    t0 = time.perf_counter()
    for _ in range(n):
        steps += run_one(spec)
    seconds = time.perf_counter() - t0
    print(f"spiff steps={steps} seconds={seconds:.4f} steps_per_sec={steps / seconds:.1f} instances={n}")


if __name__ == "__main__":
    main()
