// Admin: live rooms and their participants (RoomService), the recordings library with an HLS
// player, camera attachments, and a token form (dev).
import { formatDuration, roleOf } from '@classcast/classroom';
import Hls from 'hls.js';
import {
  ApiError, activeRecordings, addCamera, assetPlaylist, fetchDevToken, listAssets, listCameras, listParticipants, listRooms,
  startRoomRecording, stopRecording, withToken, type Asset, type EgressInfo, type RoomInfo,
} from '../api';
import { lang, t, type Key } from '../i18n';
import { h, toast } from '../ui/dom';
import { i18nAttr, topbar, tx } from '../ui/shell';

type Tab = 'rooms' | 'recordings' | 'cameras' | 'tokens';
const TABS: { id: Tab; key: Key }[] = [
  { id: 'rooms', key: 'tabRooms' },
  { id: 'recordings', key: 'tabRecordings' },
  { id: 'cameras', key: 'tabCameras' },
  { id: 'tokens', key: 'tabTokens' },
];

function fmtTime(unix: number): string {
  if (!unix) return '';
  const ms = unix > 1e12 ? unix : unix * 1000;
  return new Date(ms).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB');
}

export function mountAdmin(root: HTMLElement): () => void {
  let token = sessionStorage.getItem('classcast.admin') ?? '';
  let tab: Tab = 'rooms';
  let selectedRoom = '';
  let timer: ReturnType<typeof setInterval> | undefined;
  let hls: Hls | undefined;
  const tokenInput = h('input', { name: 'admin-token', value: token, type: 'password' });
  const tokenForm = h('form.inline.tokenbar', { onsubmit: (e: Event) => {
    e.preventDefault();
    token = tokenInput.value.trim();
    sessionStorage.setItem('classcast.admin', token);
    void show();
  } }, h('label', {}, tx('adminToken')), tokenInput, h('button.secondary', { type: 'submit', dataset: { action: 'use-token' } }, tx('use')));
  const tabBar = h('nav.tabs', { role: 'tablist' }, ...TABS.map((x) =>
    h('button.tab', { type: 'button', role: 'tab', dataset: { tab: x.id }, onclick: () => {
      tab = x.id;
      void show();
    } }, tx(x.key))));
  const body = h('div.adminbody');
  root.replaceChildren(topbar(tx('adminTitle'), [], [h('a.navlink', { href: '#/' }, tx('navJoin'))]), h('main.admin-layout', {}, h('div.adminhead', {}, tabBar, tokenForm), body));

  async function ensureToken(): Promise<void> {
    if (token) return;
    try {
      token = (await fetchDevToken({ identity: 'admin-web', admin: true })).token;
      tokenInput.value = token;
      sessionStorage.setItem('classcast.admin', token);
    } catch {
      // Not a dev server (or no admin dev tokens): the admin pastes one.
    }
  }

  async function show(): Promise<void> {
    if (timer) clearInterval(timer);
    timer = undefined;
    hls?.destroy();
    hls = undefined;
    for (const b of tabBar.querySelectorAll<HTMLElement>('[data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
    body.dataset.tab = tab;
    await ensureToken();
    if (tab === 'rooms') {
      await showRooms();
      timer = setInterval(() => void showRooms(), 3000);
    } else if (tab === 'recordings') await showRecordings();
    else if (tab === 'cameras') await showCameras();
    else showTokens();
  }

  // ---- rooms ----
  const roomsTable = h('div.card.grow', { dataset: { region: 'rooms' } });
  const peopleTable = h('div.card.grow', { dataset: { region: 'room-participants' } });
  async function showRooms(): Promise<void> {
    if (!body.contains(roomsTable)) body.replaceChildren(h('div.split', {}, roomsTable, peopleTable));
    let rooms: RoomInfo[];
    let recs: EgressInfo[] = [];
    try {
      rooms = await listRooms(token);
      recs = await activeRecordings(token).catch(() => []);
    } catch (err) {
      roomsTable.replaceChildren(h('h2', {}, tx('tabRooms')), h('p.error', {}, t('loadFailed', { reason: String((err as Error).message) })));
      return;
    }
    roomsTable.replaceChildren(
      h('div.cardhead', {}, h('h2', {}, tx('tabRooms')), h('button.secondary.small', { type: 'button', onclick: () => void showRooms() }, tx('refresh'))),
      rooms.length
        ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, tx('roomCol')), h('th', {}, tx('participantsCol')), h('th', {}, tx('createdCol')), h('th', {}, tx('recordingCol')))),
          h('tbody', {}, ...rooms.map((r) => h('tr', {
            className: r.name === selectedRoom ? 'selected' : '',
            dataset: { room: r.name },
            onclick: () => {
              selectedRoom = r.name;
              void showRooms();
            },
          }, h('td', {}, r.name), h('td.num', {}, r.numParticipants), h('td', {}, fmtTime(r.creationTime)), h('td', {}, recordButton(r.name, recs.find((e) => e.roomName === r.name)))))))
        : h('p.empty', {}, tx('noRooms')),
    );
    if (!selectedRoom && rooms[0]) selectedRoom = rooms[0].name;
    if (!selectedRoom) {
      peopleTable.replaceChildren(h('h2', {}, tx('participants')), h('p.empty', {}, tx('selectRoom')));
      return;
    }
    try {
      const ps = await listParticipants(token, selectedRoom);
      peopleTable.replaceChildren(
        h('h2', {}, tx('participants'), h('small', {}, ` · ${selectedRoom}`)),
        h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, tx('identityCol')), h('th', {}, tx('roleCol')), h('th', {}, tx('tracksCol')))),
          h('tbody', {}, ...ps.map((p) => h('tr', { dataset: { identity: p.identity } },
            h('td', {}, p.name && p.name !== p.identity ? `${p.name} (${p.identity})` : p.identity),
            h('td.role', {}, p.attributes['classcast.role'] ? roleOf(p) : '—'),
            h('td', {}, p.tracks.map((tr) => `${String(tr.source).toLowerCase()}${tr.width ? ` ${tr.width}×${tr.height}` : ''}`).join(', ') || '—'))))),
      );
    } catch (err) {
      peopleTable.replaceChildren(h('h2', {}, tx('participants')), h('p.error', {}, t('loadFailed', { reason: String((err as Error).message) })));
    }
  }

  function recordButton(room: string, active: EgressInfo | undefined): HTMLElement {
    const run = (e: Event, fn: () => Promise<unknown>) => {
      e.stopPropagation();
      fn().then(() => showRooms()).catch((err: unknown) => toast(String((err as Error).message), 'error'));
    };
    return active
      ? h('button.danger.small', { type: 'button', dataset: { action: 'record-stop', room }, onclick: (e: Event) => run(e, () => stopRecording(token, active.egressId)) }, h('span.recdot'), tx('stopRecording'))
      : h('button.secondary.small', { type: 'button', dataset: { action: 'record-start', room }, onclick: (e: Event) => run(e, () => startRoomRecording(token, room)) }, tx('startRecording'));
  }

  // ---- recordings ----
  async function showRecordings(): Promise<void> {
    const list = h('div.card.grow', { dataset: { region: 'recordings' } });
    const video = h('video', { controls: true, playsInline: true });
    const playerMsg = h('p.empty', {}, tx('playerEmpty'));
    const player = h('div.card.player', { dataset: { region: 'player' } }, h('div.player-box', {}, video), playerMsg);
    const search = i18nAttr(h('input', { name: 'q', type: 'search' }), 'placeholder', 'search');
    body.replaceChildren(h('div.split', {}, list, player));
    const load = async () => {
      let assets: Asset[];
      try {
        assets = await listAssets(token, search.value.trim());
      } catch (err) {
        const missing = err instanceof ApiError && err.status === 404;
        list.replaceChildren(h('h2', {}, tx('tabRecordings')), h('p.empty', { dataset: { state: missing ? 'unavailable' : 'error' } }, missing ? tx('recordingsUnavailable') : t('loadFailed', { reason: (err as Error).message })));
        return;
      }
      list.replaceChildren(
        h('div.cardhead', {}, h('h2', {}, tx('tabRecordings')), h('form.inline', { onsubmit: (e: Event) => (e.preventDefault(), void load()) }, search)),
        assets.length
          ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, tx('titleCol')), h('th', {}, tx('dateCol')), h('th', {}, tx('duration')), h('th', {}))),
            h('tbody', {}, ...assets.map((a) => h('tr', { dataset: { asset: a.id } },
              h('td', {}, a.title || a.course || a.room || a.id),
              h('td', {}, a.date ? new Date(a.date).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB') : ''),
              h('td.num', {}, formatDuration((a.duration ?? 0) / 1e6)),
              h('td', {}, h('button.primary.small', { type: 'button', dataset: { action: 'play' }, onclick: () => play(a) }, tx('play')))))))
          : h('p.empty', { dataset: { state: 'empty' } }, tx('noRecordings')),
      );
    };
    video.addEventListener('error', () => {
      if (!hls && video.error) playerMsg.textContent = t('playerError', { reason: video.error.message || `code ${video.error.code}` });
    });
    const play = (a: Asset) => {
      hls?.destroy();
      hls = undefined;
      playerMsg.textContent = a.title || a.id;
      const src = withToken(assetPlaylist(a.id), token);
      if (hasVP8Video(a)) {
        // The recorder stores VP8 as VP8 in fMP4, which Chromium's MP4 parser (so hls.js over MSE
        // too) refuses; the server remuxes such lessons to one seekable WebM (camera + microphone).
        video.src = withToken(`/media/${encodeURIComponent(a.id)}/play.webm`, token);
      } else if (Hls.isSupported()) {
        hls = new Hls({ xhrSetup: (xhr) => xhr.setRequestHeader('authorization', `Bearer ${token}`) });
        hls.on(Hls.Events.ERROR, (_e, data) => {
          console.warn('hls error', data.type, data.details, data.fatal, data.reason ?? '', data.response?.code ?? '');
          if (data.fatal) playerMsg.textContent = t('playerError', { reason: data.details });
        });
        hls.loadSource(src);
        hls.attachMedia(video);
      } else {
        video.src = src;
      }
      void video.play().catch(() => undefined);
    };
    await load();
  }

  // ---- cameras ----
  async function showCameras(): Promise<void> {
    const list = h('div.card.grow', { dataset: { region: 'cameras' } });
    const name = h('input', { name: 'cam-name', required: true });
    const url = h('input', { name: 'cam-url', required: true, placeholder: 'rtsp://' });
    const room = h('input', { name: 'cam-room' });
    const form = h('form.card.stack', { onsubmit: (e: Event) => {
      e.preventDefault();
      addCamera(token, { name: name.value.trim(), url: url.value.trim(), room: room.value.trim() || undefined })
        .then(() => load())
        .catch((err: unknown) => toast(String((err as Error).message), 'error'));
    } }, h('h2', {}, tx('addCamera')), h('label.field', {}, tx('cameraName'), name), h('label.field', {}, tx('cameraURL'), url), h('label.field', {}, tx('cameraRoom'), room), h('button.primary', { type: 'submit' }, tx('addCamera')));
    body.replaceChildren(h('div.split', {}, list, form));
    const load = async () => {
      try {
        const cams = await listCameras(token);
        list.replaceChildren(h('h2', {}, tx('tabCameras')), cams.length
          ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, tx('cameraName')), h('th', {}, tx('cameraURL')), h('th', {}, tx('cameraRoom')))),
            h('tbody', {}, ...cams.map((cam) => h('tr', {}, h('td', {}, cam.name), h('td', {}, cam.url), h('td', {}, cam.room ?? '')))))
          : h('p.empty', {}, tx('noCameras')));
      } catch (err) {
        const missing = err instanceof ApiError && (err.status === 404 || err.status === 405);
        list.replaceChildren(h('h2', {}, tx('tabCameras')), h('p.empty', { dataset: { state: missing ? 'unavailable' : 'error' } }, missing ? tx('camerasUnavailable') : t('loadFailed', { reason: (err as Error).message })));
      }
    };
    await load();
  }

  // ---- tokens ----
  function showTokens(): void {
    const roleSel = h('select', { name: 'role' }, ...['master_teacher', 'remote_teacher', 'classroom_display', 'meeting_participant', 'observer', 'admin'].map((r) => h('option', { value: r }, r)));
    const room = h('input', { name: 'room', value: 'lesson1' });
    const identity = h('input', { name: 'identity', required: true, value: 'teacher1' });
    const name = h('input', { name: 'name' });
    const classroom = h('input', { name: 'classroom' });
    const out = h('textarea.tokenout', { readOnly: true, rows: 5 });
    const copy = h('button.secondary', { type: 'button', onclick: () => void navigator.clipboard?.writeText(out.value).then(() => toast(t('copied'))) }, tx('copy'));
    const form = h('form.card.stack', { dataset: { region: 'token-form' }, onsubmit: (e: Event) => {
      e.preventDefault();
      fetchDevToken({ room: room.value.trim(), identity: identity.value.trim(), name: name.value.trim(), role: roleSel.value as never, classroom: classroom.value.trim() || undefined })
        .then((tok) => void (out.value = tok.token))
        .catch((err: unknown) => toast(String((err as Error).message), 'error'));
    } },
    h('h2', {}, tx('mintToken')),
    h('div.formgrid', {},
      h('label.field', {}, tx('roleCol'), roleSel),
      h('label.field', {}, tx('roomName'), room),
      h('label.field', {}, tx('identityCol'), identity),
      h('label.field', {}, tx('yourName'), name),
      h('label.field', {}, tx('classroomId'), classroom)),
    h('button.primary', { type: 'submit', dataset: { action: 'mint' } }, tx('mintToken')),
    h('label.field', {}, tx('tokenFor'), out), h('div.row', {}, copy));
    body.replaceChildren(form);
  }

  void show();
  return () => {
    if (timer) clearInterval(timer);
    hls?.destroy();
  };
}

/** The list API returns each asset's tracks, which the shared Asset type does not declare. */
function hasVP8Video(a: Asset): boolean {
  const tracks = (a as Asset & { tracks?: { kind: string; codec: string }[] }).tracks ?? [];
  return tracks.some((tr) => tr.kind === 'video' && tr.codec === 'vp8');
}
