// Which registry the real-client tests talk to.
//   WHARF_TEST_TARGET=reference  -> the CNCF reference registry (docker-registry 2.8.2)
//   unset / anything else        -> Wharf itself (startWharf)
import { startReference } from '../reference.js';
import { startWharf, type TestRegistry } from '../wharf.js';

export type Target = 'wharf' | 'reference';

export function target(): Target {
  return process.env.WHARF_TEST_TARGET === 'reference' ? 'reference' : 'wharf';
}

/** Starts the registry under test on a loopback port (plain HTTP, no auth). */
export async function startTarget(): Promise<TestRegistry> {
  return target() === 'reference' ? startReference() : startWharf();
}

export type { TestRegistry };
