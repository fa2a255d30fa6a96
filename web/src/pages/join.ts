// Join page: who am I, which room; camera preview, microphone meter and a network check, then go.
import { checkConnectivity, listDevices, MicLevelMeter, testCamera, type Role } from '@classcast/classroom';
import { ConnectionQuality, type LocalVideoTrack } from 'livekit-client';
import { fetchDevToken } from '../api';
import type { Key } from '../i18n';
import { t } from '../i18n';
import { h, params } from '../ui/dom';
import { i18nAttr, setTx, topbar, tx } from '../ui/shell';
import { randomId, savePrefs } from '../session';

interface RoleChoice {
  role: Role;
  key: Key;
  route: string;
}
const ROLES: RoleChoice[] = [
  { role: 'master_teacher', key: 'roleMaster', route: 'master' },
  { role: 'classroom_display', key: 'roleClassroom', route: 'classroom' },
  { role: 'remote_teacher', key: 'roleRemoteTeacher', route: 'classroom' },
  { role: 'meeting_participant', key: 'roleMeeting', route: 'meeting' },
  { role: 'admin', key: 'roleAdmin', route: 'admin' },
];

const QUALITY_KEY: Record<string, Key> = {
  [ConnectionQuality.Excellent]: 'qualityExcellent',
  [ConnectionQuality.Good]: 'qualityGood',
  [ConnectionQuality.Poor]: 'qualityPoor',
  [ConnectionQuality.Lost]: 'qualityLost',
  [ConnectionQuality.Unknown]: 'qualityUnknown',
};

export function mountJoin(root: HTMLElement): () => void {
  const q = params();
  let role: Role = (ROLES.find((r) => r.route === q.get('as'))?.role ?? 'master_teacher') as Role;

  const roomInput = h('input', { name: 'room', required: true, value: q.get('room') ?? 'lesson1' });
  const nameInput = h('input', { name: 'name', value: q.get('name') ?? '' });
  const classroomInput = h('input', { name: 'classroom', value: q.get('classroom') ?? '' });
  i18nAttr(classroomInput, 'placeholder', 'classroomIdHint');
  const classroomField = h('label.field', {}, tx('classroomId'), classroomInput);
  const tokenInput = h('textarea', { name: 'token', rows: 3 });
  i18nAttr(tokenInput, 'placeholder', 'tokenHint');

  const roleCards = ROLES.map((r) =>
    h('label.rolecard', {}, h('input', {
      type: 'radio', name: 'role', value: r.role, checked: r.role === role,
      onchange: () => {
        role = r.role;
        update();
      },
    }), tx(r.key)),
  );

  // ---- checks ----
  const preview = h('video.preview', { autoplay: true, muted: true, playsInline: true, dataset: { region: 'preview' } });
  const cameraSelect = h('select', { name: 'camera' });
  const micSelect = h('select', { name: 'mic' });
  const meterFill = h('i');
  const meter = h('div.meter', { dataset: { region: 'meter' }, role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100' }, meterFill);
  const micStatus = tx('micSilent');
  const netRows = h('dl.netcheck', { dataset: { region: 'network' } });
  const netButton = h('button.secondary', { type: 'button', onclick: () => void runNetCheck() }, tx('checkNetwork'));
  let camTrack: LocalVideoTrack | undefined;
  const meterObj = new MicLevelMeter();
  let disposed = false;

  async function startCamera(): Promise<void> {
    camTrack?.stop();
    camTrack = undefined;
    try {
      camTrack = await testCamera(cameraSelect.value || undefined);
      if (disposed) return camTrack.stop();
      camTrack.attach(preview);
    } catch {
      preview.poster = '';
    }
  }

  async function startMic(): Promise<void> {
    try {
      await meterObj.start((level) => {
        meterFill.style.width = `${Math.round(level * 100)}%`;
        meter.setAttribute('aria-valuenow', String(Math.round(level * 100)));
        setTx(micStatus, meterObj.peak > 0.02 ? 'micHeard' : 'micSilent');
        micStatus.parentElement!.dataset.kind = meterObj.peak > 0.02 ? 'ok' : 'idle';
      }, micSelect.value || undefined);
    } catch {
      setTx(micStatus, 'noMicrophone');
    }
  }

  async function loadDevices(): Promise<void> {
    const d = await listDevices(true);
    const opts = (list: MediaDeviceInfo[], none: Key) =>
      list.length ? list.map((x, i) => h('option', { value: x.deviceId }, x.label || `#${i + 1}`)) : [h('option', { value: '' }, t(none))];
    cameraSelect.replaceChildren(...opts(d.cameras, 'noCamera'));
    micSelect.replaceChildren(...opts(d.microphones, 'noMicrophone'));
  }

  function netRow(key: Key, value: HTMLElement, kind: string): HTMLElement[] {
    return [h('dt', {}, tx(key)), h('dd', { dataset: { kind } }, value)];
  }

  async function runNetCheck(): Promise<void> {
    netRows.replaceChildren(...netRow('network', tx('checking'), 'idle'));
    netButton.disabled = true;
    try {
      const identity = randomId('check');
      const pasted = tokenInput.value.trim();
      let url = `ws://${location.host}`;
      let token = pasted;
      let joinToken: string | undefined;
      if (!pasted) {
        // Its own room: a test participant in the lesson would show up in the master's grid.
        const dev = await fetchDevToken({ room: `netcheck-${identity}`, identity, role: 'observer' });
        url = dev.url;
        token = dev.token;
        joinToken = dev.token;
      }
      const r = await checkConnectivity(url, token, { testJoinToken: joinToken, timeoutMs: 20_000 });
      if (disposed) return;
      const rows = [
        ...netRow('netServer', r.validate.ok ? tx('ms', { n: r.validate.ms }) : tx('netFailed', { reason: r.validate.message || String(r.validate.status) }), r.validate.ok ? 'ok' : 'bad'),
      ];
      if (r.join) {
        rows.push(...netRow('netJoin', r.join.ok ? tx('ms', { n: r.join.ms }) : tx('netFailed', { reason: r.join.error ?? '' }), r.join.ok ? 'ok' : 'bad'));
        if (r.join.ok) {
          const qk = QUALITY_KEY[r.join.quality ?? ConnectionQuality.Unknown] ?? 'qualityUnknown';
          const q = r.join.quality ?? ConnectionQuality.Unknown;
          rows.push(...netRow('netQuality', tx(qk), q === ConnectionQuality.Poor || q === ConnectionQuality.Lost ? 'warn' : q === ConnectionQuality.Unknown ? 'idle' : 'ok'));
        }
      }
      netRows.replaceChildren(...rows);
      netRows.dataset.ok = String(r.ok);
    } catch (err) {
      netRows.replaceChildren(...netRow('network', tx('netFailed', { reason: String(err) }), 'bad'));
      netRows.dataset.ok = 'false';
    } finally {
      netButton.disabled = false;
    }
  }

  function update(): void {
    const needsClassroom = role === 'classroom_display' || role === 'remote_teacher';
    classroomField.hidden = !needsClassroom;
    devices.hidden = role === 'admin';
  }

  function join(ev: Event): void {
    ev.preventDefault();
    const choice = ROLES.find((r) => r.role === role)!;
    const name = nameInput.value.trim();
    const classroom = classroomInput.value.trim() || (role === 'classroom_display' || role === 'remote_teacher' ? randomId('classroom') : '');
    const identity =
      role === 'classroom_display' ? classroom : role === 'remote_teacher' ? `${classroom}-teacher` : randomId(role === 'master_teacher' ? 'master' : role === 'admin' ? 'admin' : 'p');
    savePrefs({ cameraId: cameraSelect.value || undefined, micId: micSelect.value || undefined, token: tokenInput.value.trim() || undefined });
    const next = new URLSearchParams({ room: roomInput.value.trim(), identity, name: name || identity });
    if (classroom) next.set('classroom', classroom);
    if (role === 'remote_teacher') next.set('teacher', '1');
    location.hash = `#/${choice.route}?${next}`;
  }

  const devices = h(
    'section.card.checks',
    { dataset: { region: 'checks' } },
    h('h2', {}, tx('camera')),
    h('div.preview-box', {}, preview),
    h('label.field', {}, tx('camera'), cameraSelect),
    h('h2', {}, tx('microphone')),
    h('label.field', {}, tx('microphone'), micSelect),
    h('div.meter-row', {}, h('span.hint', {}, tx('micLevel')), meter, h('span.pill', { dataset: { kind: 'idle' } }, micStatus)),
  );
  const form = h(
    'form.card.joinform',
    { onsubmit: join, dataset: { region: 'form' } },
    h('h1', {}, tx('joinTitle')),
    h('p.hint', {}, tx('joinIntro')),
    h('fieldset.roles', {}, h('legend', {}, tx('role')), ...roleCards),
    h('label.field', {}, tx('roomName'), roomInput),
    h('label.field', {}, tx('yourName'), nameInput),
    classroomField,
    h('details.advanced', {}, h('summary', {}, tx('advanced')), h('label.field', {}, tx('token'), tokenInput)),
    h('button.primary.big', { type: 'submit', dataset: { action: 'join' } }, tx('joinButton')),
  );
  const network = h('section.card.network', {}, h('div.cardhead', {}, h('h2', {}, tx('network')), netButton), netRows);
  root.replaceChildren(
    topbar(tx('joinTitle'), [], [h('a.navlink', { href: '#/admin' }, tx('navAdmin'))]),
    h('main.join-layout', {}, form, h('div.join-side', {}, devices, network)),
  );
  update();

  cameraSelect.addEventListener('change', () => void startCamera());
  micSelect.addEventListener('change', () => void startMic());
  void (async () => {
    await loadDevices().catch(() => undefined);
    if (disposed) return;
    await Promise.all([startCamera(), startMic()]);
  })();
  void runNetCheck();

  return () => {
    disposed = true;
    camTrack?.stop();
    meterObj.stop();
  };
}
