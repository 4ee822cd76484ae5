/**
 * For `node --import <this module>`: a pipeline's own specs, run by `node --test` (as
 * `npm run test:pipeline` does) or mocha, get the service's `myeventstream`,
 * `myeventstream/testing` and `rxjs` wherever they live, as the service gives its PIPELINE.
 */
import { shareServiceImports } from './service-imports.js';

shareServiceImports();
