// bpmn-engine 25.0.1 side of tests/load/engine_peers.sh.
//
// Parses the BPMN file once (bpmn-moddle, then bpmn-engine's serialized context), then runs N
// instances of its process one after another: a new Engine on that context, execute, then signal
// each waiting user task in turn (the postponed bpmn:UserTask's api.signal()) until the engine
// ends. One step = starting an instance or completing one user task, as for Tongban and
// SpiffWorkflow, so a 5-task chain is 6 steps. Only the instance loop is timed.
//
//   node chain.mjs ../chain.bpmn [N [WARMUP]]   # prints: bpmn-engine steps=... seconds=... steps_per_sec=...
//
// WARMUP instances (default N/5, at least 1) run first, untimed: node's JIT settles only after some
// hundred instances (measured: 100 instances ~275 steps/s, 600 ~475 steps/s with 1 warm-up).
import { readFileSync } from 'node:fs';
import { Engine } from 'bpmn-engine';

const [file, count, warm] = process.argv.slice(2);
if (!file) {
  console.error('usage: node chain.mjs FILE.bpmn [INSTANCES [WARMUP]]');
  process.exit(2);
}
const n = Number(count ?? 300);
const warmup = Number(warm ?? Math.max(1, Math.floor(n / 5)));

// Parse once, as the other engines do: the serialized moddle context is what an Engine runs.
const [loaded] = await new Engine({ name: 'parse', source: readFileSync(file, 'utf8') }).getDefinitions();
const sourceContext = loaded.context.definitionContext;

async function runOne(i) {
  const engine = new Engine({ name: `chain-${i}`, sourceContext });
  const ended = new Promise((resolve, reject) => {
    engine.once('end', resolve);
    engine.once('error', reject);
  });
  const execution = await engine.execute();
  let steps = 1;
  for (;;) {
    const waiting = execution.getPostponed().filter((api) => api.type === 'bpmn:UserTask');
    if (waiting.length === 0) break;
    if (waiting.length !== 1) throw new Error(`expected one waiting user task, found ${waiting.map((a) => a.id)}`);
    waiting[0].signal();
    steps += 1;
  }
  await ended;
  const taken = execution.getActivityById('end')?.counters.taken;
  if (execution.state !== 'idle' || taken !== 1) throw new Error(`instance ${i} ended in state ${execution.state}, end event taken ${taken}`);
  return steps;
}

// Warm-up and check, outside the timing: every instance must run the 5 user tasks.
for (let i = 0; i < warmup; i++) {
  if ((await runOne(-i)) !== 6) throw new Error('the chain is not start + 5 user tasks');
}

let steps = 0;
const t0 = process.hrtime.bigint();
for (let i = 1; i <= n; i++) steps += await runOne(i);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`bpmn-engine steps=${steps} seconds=${seconds.toFixed(4)} steps_per_sec=${(steps / seconds).toFixed(1)} instances=${n}`);
