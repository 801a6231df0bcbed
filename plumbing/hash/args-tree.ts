// The argument tree a commit keeps (`args.tree`): each node near the root of a call's arguments by
// its path, with a short hash of its canonical encoding and its preview, so `explain` can say which
// argument changed (`args[1].opts.lr: 0.01 → 0.02`) without any argument value stored beyond a preview.
import { hashArgsTree, type HashArgsOptions } from "./args.js";
import { previewValue } from "./preview.js";

/** `[path, hash, preview]` per node, breadth first (bounds: ARGS_TREE_BOUNDS in args.ts). */
export type ArgsTree = Array<[path: string, hash: string, preview: string]>;

/** Hex digits of a node's sha256 kept: it tells two values apart for an explanation, never a key. */
const NODE_HASH_LENGTH = 16;
const NODE_PREVIEW_LENGTH = 40;

/** The argument hash (the same as hashArgs) and the argument tree, in one walk. */
export async function argsTree(args: readonly unknown[], options: HashArgsOptions = {}): Promise<{ hash: string; tree: ArgsTree }> {
  const { hash, nodes } = await hashArgsTree(args, options);
  return { hash, tree: nodes.map((n) => [n.path, n.hash.slice(0, NODE_HASH_LENGTH), previewValue(n.value, NODE_PREVIEW_LENGTH)]) };
}
