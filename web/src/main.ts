// The classcast web app: a hash router over the pages. Each page mounts into #app and returns a
// cleanup function.
import { mountAdmin } from './pages/admin';
import { mountClassroom } from './pages/classroom';
import { mountJoin } from './pages/join';
import { mountMaster } from './pages/master';
import { mountMeeting } from './pages/meeting';

const routes: Record<string, (root: HTMLElement) => () => void> = {
  '': mountJoin,
  join: mountJoin,
  master: mountMaster,
  classroom: mountClassroom,
  meeting: mountMeeting,
  admin: mountAdmin,
};

const root = document.querySelector<HTMLElement>('#app')!;
let cleanup: (() => void) | undefined;
let current = '';

function route(): void {
  const path = location.hash.replace(/^#\/?/, '').split('?')[0] ?? '';
  const key = path in routes ? path : '';
  const full = location.hash;
  if (full === current) return;
  current = full;
  cleanup?.();
  document.body.dataset.page = key || 'join';
  cleanup = routes[key]!(root);
}

window.addEventListener('hashchange', route);
route();
