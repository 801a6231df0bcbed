// TaskRef: in a submitMany batch, a placeholder for the output of another task of the same batch —
// by position in the list form (`TaskRef(0)`), by key in the record form (`TaskRef("load")`).
import { InvalidInputError } from "../plumbing/errors.js";

/** Which task of the batch: an index (list form) or a key (record form). */
export type TaskKey = number | string;

export interface TaskRef {
  readonly target: TaskKey;
}

class Placeholder implements TaskRef {
  constructor(readonly target: TaskKey) {
    Object.freeze(this);
  }

  toString(): string {
    return `TaskRef(${JSON.stringify(this.target)})`;
  }
}

/** A placeholder for the output of task `target`; called without `new`. */
export function TaskRef(target: TaskKey): TaskRef {
  const valid = typeof target === "string" ? target.length > 0 : Number.isSafeInteger(target) && target >= 0;
  if (!valid) throw new InvalidInputError(`TaskRef needs a task index (a whole number ≥ 0) or a non-empty key, not ${JSON.stringify(target)}`);
  return new Placeholder(target);
}

// `x instanceof TaskRef` reads naturally even though TaskRef is a factory.
Object.defineProperty(TaskRef, Symbol.hasInstance, { value: (value: unknown): boolean => value instanceof Placeholder });

export function isTaskRef(value: unknown): value is TaskRef {
  return value instanceof Placeholder;
}
