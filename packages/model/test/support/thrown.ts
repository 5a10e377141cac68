import { KubeNetsimError } from '../../src/errors.js';

/** Test helper: runs `f` and returns the KubeNetsimError it throws (fails the test when it throws nothing or something else). */
export function thrown(f: () => unknown): KubeNetsimError {
  try {
    f();
  } catch (e) {
    if (e instanceof KubeNetsimError) return e;
    throw e;
  }
  throw new Error('expected a KubeNetsimError');
}
