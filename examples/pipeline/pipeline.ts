// A parameter sweep with submitMany: load → features → one model per learning rate → the best,
// then map() to score the best model on a few seeds. Run it twice: the second run executes
// nothing. Change one learning rate (RATES=0.01,0.03,0.3): only that model and the pick run again.
import { Client, TaskRef } from "cashet";

export function load(n: number): number[] {
  // a deterministic "dataset": y = 3x + noise
  return Array.from({ length: n }, (_, i) => 3 * (i / n) + Math.sin(i * 12.9898) * 0.1);
}

export function features(ys: number[]): Array<[number, number]> {
  return ys.map((y, i) => [i / ys.length, y]);
}

export function train(points: Array<[number, number]>, lr: number): { lr: number; w: number; loss: number } {
  let w = 0;
  for (let epoch = 0; epoch < 200; epoch++) {
    let grad = 0;
    for (const [x, y] of points) grad += (w * x - y) * x;
    w -= (lr * grad) / points.length;
  }
  const loss = points.reduce((s, [x, y]) => s + (w * x - y) ** 2, 0) / points.length;
  return { lr, w, loss };
}

export function pick(models: Array<{ lr: number; w: number; loss: number }>): { lr: number; w: number; loss: number } {
  return models.reduce((a, b) => (b.loss < a.loss ? b : a));
}

export function score(seed: number, w: number): number {
  const x = (seed * 7919) % 100 / 100;
  return Math.abs(w * x - 3 * x);
}

const rates = (process.env.RATES ?? "0.01,0.03,0.1").split(",").map(Number);
const client = new Client(); // ./.cashet, or $CASHET_DIR
try {
  const models = Object.fromEntries(rates.map((lr) => [`lr=${lr}`, [train, [TaskRef("features"), lr]] as const]));
  const refs = await client.submitMany(
    {
      data: [load, [2000]],
      features: [features, [TaskRef("data")]],
      ...models,
      best: [pick, [rates.map((lr) => TaskRef(`lr=${lr}`))]],
    },
    { maxWorkers: 4 },
  );
  const best = (await refs.best!.load()) as { lr: number; w: number; loss: number };
  const scores = await client.map(score, [1, 2, 3], best.w);
  const ran = [...Object.entries(refs), ...scores.map((r, i) => [`score ${i + 1}`, r] as const)].filter(([, r]) => !r.cached).map(([k]) => k);
  console.log(JSON.stringify({ best: { lr: best.lr, loss: Number(best.loss.toFixed(6)) }, scores: await Promise.all(scores.map((s) => s.load())), ran }));
  // Each batch says what it did (`refs.summary`: cached, ran, savedMs) and, on a terminal, one
  // line on stderr: `cashet: 9 cached, 0 ran, saved 175ms`.
} finally {
  await client.close();
}
