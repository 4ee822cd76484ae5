import { registerHooks } from 'node:module';

/**
 * The service's own modules for the specifiers a pipeline may import. Resolved relative to
 * this file, so they are the modules the running service uses: `dist/lib/…` when compiled,
 * `lib/…` under tsx.
 */
const SERVICE_MODULES: Readonly<Record<string, string>> = {
  myeventstream: new URL('../index.js', import.meta.url).href,
  'myeventstream/testing': new URL('../testing/index.js', import.meta.url).href,
};

let registered = false;

/**
 * Lets a pipeline module anywhere on disk, and the specs beside it, import `myeventstream`,
 * `myeventstream/testing` and `rxjs` (with its subpaths) and get the service's own copies: one
 * RxJS, so operators, Observables and errors are the ones the service checks against. A module
 * outside the project could not resolve them at all, and one with its own node_modules would
 * get a second RxJS.
 *
 * Only imports from modules outside any node_modules folder are redirected: a package keeps
 * the dependencies it was installed with. Registering more than once has no further effect.
 */
export function shareServiceImports(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const parent = context.parentURL;
      if (parent === undefined || parent.includes('/node_modules/')) return nextResolve(specifier, context);
      const serviceModule = SERVICE_MODULES[specifier];
      if (serviceModule !== undefined) return nextResolve(serviceModule, context);
      if (specifier === 'rxjs' || specifier.startsWith('rxjs/')) {
        // Resolved as if the service imported it, so from the service's own node_modules.
        return nextResolve(specifier, { ...context, parentURL: import.meta.url });
      }
      return nextResolve(specifier, context);
    },
  });
}
