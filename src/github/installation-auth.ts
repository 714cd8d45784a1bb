import type { createAppAuth } from '@octokit/auth-app';
import type { Repository as RepoRef } from '../core/service.ts';

type CreateAppAuth = typeof createAppAuth;
type AppAuth = ReturnType<CreateAppAuth>;
type AppAuthOptions = { appId: number; privateKey: string };

let loading: Promise<CreateAppAuth> | null = null;

/**
 * `createAppAuth`, imported on first use: @octokit/auth-app (and its JWT and OAuth dependencies)
 * costs memory that an instance with a token never needs.
 */
function loadCreateAppAuth(): Promise<CreateAppAuth> {
  loading ??= import('@octokit/auth-app').then((module) => module.createAppAuth);
  return loading;
}

/**
 * An Octokit `authStrategy` that is @octokit/auth-app's `createAppAuth` (a GitHub App, as its
 * installation GITHUB_APP_INSTALLATION_ID), loaded with the first request rather than at start.
 */
export function appAuth(options: Parameters<CreateAppAuth>[0]) {
  let app: Promise<AppAuth> | null = null;
  const resolve = (): Promise<AppAuth> => {
    app ??= loadCreateAppAuth().then((create) => create(options));
    return app;
  };
  const hook: AppAuth['hook'] = async (request, route, parameters) =>
    (await resolve()).hook(request, route, parameters);
  const auth = async (...args: Parameters<AppAuth>) => (await resolve())(...args);
  return Object.assign(auth, { hook });
}

/**
 * An Octokit `authStrategy` for a GitHub App whose installation on `repository`'s owner is not
 * configured: the installation is found by asking GitHub once with the App's JWT (`GET
 * /repos/{owner}/{repo}/installation`), then @octokit/auth-app makes and renews that installation's
 * tokens as usual. A failed lookup is not remembered: the next request asks again.
 */
export function repositoryInstallationAuth(
  options: AppAuthOptions & { repository: RepoRef; request?: AppAuthRequest; log?: unknown },
) {
  const { appId, privateKey, repository } = options;
  const base = { appId, privateKey, ...(options.request && { request: options.request }) };
  const app = appAuth(base);
  let installation: Promise<AppAuth> | null = null;
  // The hook's own `request` (the next one in Octokit's chain) asks, so the lookup never re-enters this hook.
  const resolve = (request: AppAuthRequest): Promise<AppAuth> => {
    installation ??= app.hook(request, 'GET /repos/{owner}/{repo}/installation', { ...repository }).then(
      async (response) =>
        (await loadCreateAppAuth())({ ...base, installationId: (response.data as { id: number }).id }),
      (error: unknown) => {
        installation = null;
        throw error;
      },
    );
    return installation;
  };
  const hook: AppAuth['hook'] = async (request, route, parameters) =>
    (await resolve(request)).hook(request, route, parameters);
  const auth = async (...args: Parameters<AppAuth>) => {
    if (!options.request) throw new Error('repositoryInstallationAuth: no request function');
    return (await resolve(options.request))(...args);
  };
  return Object.assign(auth, { hook });
}

type AppAuthRequest = Parameters<AppAuth['hook']>[0];
