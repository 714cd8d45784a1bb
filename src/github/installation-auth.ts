import { createAppAuth } from '@octokit/auth-app';
import type { Repository as RepoRef } from '../core/service.ts';

type AppAuth = ReturnType<typeof createAppAuth>;
type AppAuthOptions = { appId: number; privateKey: string };

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
  const app = createAppAuth(base);
  let installation: Promise<AppAuth> | null = null;
  // The hook's own `request` (the next one in Octokit's chain) asks, so the lookup never re-enters this hook.
  const resolve = (request: AppAuthRequest): Promise<AppAuth> => {
    installation ??= app.hook(request, 'GET /repos/{owner}/{repo}/installation', { ...repository }).then(
      (response) => createAppAuth({ ...base, installationId: (response.data as { id: number }).id }),
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
