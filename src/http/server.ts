import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { type AppDeps, createApp, githubRouteOptions } from './app.ts';
import { githubWebhookListener } from './github-webhook.ts';

const GITHUB_ROUTE = '/github/webhook';

/**
 * The HTTP server: the Hono app ({@link createApp}), with `POST /github/webhook` answered straight on
 * node:http in front of it (an organisation's webhook sends every repository's events, most of them
 * refused after the signature and a look at the repository, so that route is the hot one). Both paths
 * use the same rules; a request whose path is not exactly the route's (encoded, with dot segments)
 * goes to Hono, which serves the route too. Not listening yet.
 */
export function createHttpServer(deps: AppDeps): Server {
  const hono = getRequestListener(createApp(deps).fetch);
  const github = deps.github ? githubWebhookListener(githubRouteOptions(deps, deps.github)) : null;
  return createServer((request, response) => {
    const url = request.url ?? '';
    if (
      github &&
      request.method === 'POST' &&
      url.startsWith(GITHUB_ROUTE) &&
      (url.length === GITHUB_ROUTE.length || url.charCodeAt(GITHUB_ROUTE.length) === 63) // '?'
    ) {
      github(request, response);
      return;
    }
    void hono(request, response);
  });
}
