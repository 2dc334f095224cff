/**
 * Backend start-up under Node: the native backend joins the candidates (first when its addon loads) and
 * STRATA_BACKEND names the one to use. The node entry (index.ts) and the CLI import this module for its
 * effect; the browser entry does not, so a bundle holds the js backend alone and no `node:` module.
 */
import { createNativeBackend } from './native/index.js';
import { registerBackend, requestBackend } from './registry.js';

registerBackend({ name: 'native', priority: 10, load: createNativeBackend });
const requested = process.env.STRATA_BACKEND;
if (requested) requestBackend(requested, 'STRATA_BACKEND');
