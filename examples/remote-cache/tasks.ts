// A slow step worth sharing: every machine that asks after the first gets its result instead.
export async function render(scene: string, frames: number): Promise<{ scene: string; frames: number; checksum: number }> {
  await new Promise((resolve) => setTimeout(resolve, 500)); // stands for minutes of work
  let checksum = 0;
  for (let f = 0; f < frames; f++) for (const c of scene) checksum = (checksum * 31 + c.charCodeAt(0) + f) % 1_000_003;
  return { scene, frames, checksum };
}
