// Classroom (a rural classroom PC, or its teacher): the master's camera and the whiteboard large,
// the classroom's own question queue (raise; the teacher forwards), the connection quality, full
// screen. Light by default: adaptive stream, the class-view camera sent small, the master's
// whiteboard video not subscribed (the board is drawn from vector strokes).
import { type Classroom } from '@classcast/classroom';
import { RoomEvent, Track, VideoPresets, type RemoteTrackPublication, type RemoteParticipant } from 'livekit-client';
import { t, type Key } from '../i18n';
import { h, params, toast } from '../ui/dom';
import { i18nAttr, setTx, topbar, tx } from '../ui/shell';
import { act, connectionPill, emptyNote, leaveButton, lessonPill, questionRow, serverBanner, tickWaiting } from '../ui/roomui';
import { QualityIndicator, Tile, playAudio, stopAudio, videoOf } from '../ui/tiles';
import { WhiteboardView } from '../ui/whiteboard';
import { joinClassroom, joinInfoFromURL } from '../session';

const Q_STATE: Record<string, Key> = { local: 'qLocal', forwarded: 'qForwarded', on_stage: 'qOnStage', done: 'qDone' };

export function mountClassroom(root: HTMLElement): () => void {
  const teacher = params().get('teacher') === '1';
  const info = joinInfoFromURL(teacher ? 'remote_teacher' : 'classroom_display');
  const cleanups: Array<() => void> = [];
  root.replaceChildren(topbar(info.classroomName ?? info.room), h('main.center', {}, h('p.empty', {}, tx('connecting'))));
  void (async () => {
    let c: Classroom;
    try {
      c = await joinClassroom(info, {
        adaptiveStream: true,
        dynacast: true,
        publishDefaults: { simulcast: true, videoCodec: 'vp8', videoSimulcastLayers: [VideoPresets.h180] },
        // The class view only needs to be recognisable in the master's grid.
        videoCaptureDefaults: { resolution: VideoPresets.h360.resolution },
      });
    } catch (err) {
      root.replaceChildren(topbar(info.room), h('main.center', {}, h('p.error', {}, t('joinFailed', { reason: String(err) }))));
      return;
    }
    cleanups.push(() => void c.disconnect());
    build(root, c, teacher, cleanups);
  })();
  return () => cleanups.forEach((f) => f());
}

function build(root: HTMLElement, c: Classroom, teacher: boolean, cleanups: Array<() => void>): void {
  const lp = c.room.localParticipant;
  const board = new WhiteboardView(c, { editable: false });
  cleanups.push(() => board.dispose());
  const masterTile = new Tile(t('master'), 'master');
  masterTile.el.dataset.region = 'master-video';
  const stageTile = new Tile('', 'stage');
  stageTile.el.dataset.region = 'stage-video';
  stageTile.el.hidden = true;
  const selfTile = new Tile(t('you'), 'self');
  selfTile.el.dataset.region = 'self';
  const quality = new QualityIndicator();
  const lesson = lessonPill(c);
  cleanups.push(lesson.dispose);
  const audio = h('div.audio', { hidden: true });
  const stageBadge = h('span.pill.stagebadge', { dataset: { kind: 'idle', region: 'stage-badge' } }, tx('offStageBadge'));

  const questionInput = i18nAttr(h('input', { name: 'question' }), 'placeholder', 'questionText');
  const raiseForm = h('form.inline', { onsubmit: (e: Event) => {
    e.preventDefault();
    act('raiseQuestion', () => c.raiseQuestion(questionInput.value.trim()).then(() => void (questionInput.value = '')))();
  } }, questionInput, h('button.primary', { type: 'submit', dataset: { action: 'raise' } }, tx('raise')));
  const queue = h('ul.queue', { dataset: { region: 'questions' } });

  const fsBtn = h('button.secondary', { type: 'button', dataset: { action: 'fullscreen' } }, tx('fullscreen'));
  const stageArea = h('section.classroom-stage', { dataset: { region: 'stage-area' } }, h('div.boardpane', {}, board.el), h('div.videopane', {}, masterTile.el, stageTile.el));
  fsBtn.addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void stageArea.requestFullscreen().catch((e: unknown) => toast(String(e), 'error'));
  });
  const onFs = () => setTx(fsBtn.querySelector('span')!, document.fullscreenElement ? 'exitFullscreen' : 'fullscreen');
  document.addEventListener('fullscreenchange', onFs);
  cleanups.push(() => document.removeEventListener('fullscreenchange', onFs));

  root.replaceChildren(
    topbar(h('span', {}, c.classroom ?? lp.identity, h('small', {}, ` · ${c.room.name}`)), [connectionPill(c), lesson.el, stageBadge], [quality.el, fsBtn, leaveButton(c)]),
    h('main.classroom-layout', {},
      serverBanner(c),
      stageArea,
      h('aside.side', {},
        h('section.card', {}, h('h2', {}, tx('raiseQuestion')), raiseForm),
        h('section.card.grow', {}, h('h2', {}, tx('questions')), queue),
        selfTile.el,
      ),
      audio,
    ),
  );

  function renderQueue(): void {
    const mine = c.classroom ? c.store.classroomQueue(c.classroom) : [];
    queue.replaceChildren(
      ...(mine.length
        ? mine.map((q) => questionRow(q, teacher && q.state === 'local'
          ? [
            h('button.primary.small', { type: 'button', dataset: { action: 'forward' }, onclick: act('forward', () => c.forwardQuestion(q.id)) }, tx('forward')),
            h('button.secondary.small', { type: 'button', dataset: { action: 'dismiss' }, onclick: act('dismiss', () => c.dismissQuestion(q.id)) }, tx('dismiss')),
          ]
          : [h('span.qstate', {}, tx(Q_STATE[q.state] ?? 'qLocal'))]))
        : [emptyNote('noQuestions')]),
    );
    const on = c.onStage;
    stageBadge.dataset.kind = on ? 'live' : 'idle';
    setTx(stageBadge.querySelector('span')!, on ? 'onStageBadge' : 'offStageBadge');
  }

  // Tokens without classcast.role (a server that does not mint roles yet) make every peer look
  // like a classroom; then the master is the one publishing the whiteboard or named master*.
  function findMaster(): RemoteParticipant | undefined {
    const byRole = c.masters()[0];
    if (byRole) return byRole;
    const all = [...c.room.remoteParticipants.values()].filter((p) => !p.attributes?.['classcast.role']);
    return all.find((p) => p.getTrackPublication(Track.Source.ScreenShare)) ?? all.find((p) => p.identity.startsWith('master'));
  }

  function renderVideo(): void {
    const master = findMaster();
    masterTile.setTrack(master ? videoOf(master) : undefined);
    masterTile.setLabel(master ? master.name || t('master') : t('waitingForMaster'));
    // Another classroom on stage: show its class view too.
    const onStage = c.state.stage.map((e) => e.classroom).filter((x) => x !== c.classroom);
    const group = c.classrooms().find((g) => onStage.includes(g.classroom));
    const p = group?.participants.find((x) => videoOf(x));
    stageTile.el.hidden = !p;
    stageTile.setTrack(p ? videoOf(p) : undefined);
    if (group) stageTile.setLabel(group.name);
  }

  // Lesson rooms on a server without classroom rules send everyone everything; a classroom PC
  // only needs the master (and classrooms on stage), so it does not subscribe to the other
  // classrooms' video, nor to the master's whiteboard video (drawn from strokes here).
  function wanted(pub: RemoteTrackPublication, p: RemoteParticipant): boolean {
    const role = c.roleOf(p);
    if (role === 'master_teacher' || role === 'admin' || p === findMaster()) return pub.source !== Track.Source.ScreenShare;
    if (pub.kind === Track.Kind.Audio) return true;
    const cls = p.attributes?.['classcast.classroom'] ?? p.identity;
    return c.store.onStage(cls);
  }
  function applySubscriptions(): void {
    if (!c.serverReady) return; // without the server's roles every role-less peer looks like a classroom
    for (const p of c.room.remoteParticipants.values()) {
      for (const pub of p.trackPublications.values()) {
        const want = wanted(pub, p);
        if (pub.isDesired !== want) pub.setSubscribed(want);
      }
    }
  }

  c.room
    .on(RoomEvent.TrackPublished, (pub, p) => {
      if (pub.source === Track.Source.ScreenShare && (c.roleOf(p) === 'master_teacher' || p === findMaster())) pub.setSubscribed(false);
      applySubscriptions();
    })
    .on(RoomEvent.TrackSubscribed, (track, pub, p) => {
      if (pub.source === Track.Source.ScreenShare && (c.roleOf(p) === 'master_teacher' || p === findMaster())) {
        pub.setSubscribed(false);
        return;
      }
      playAudio(audio, track, p.identity);
      renderVideo();
    })
    .on(RoomEvent.TrackUnsubscribed, (track) => {
      stopAudio(track);
      renderVideo();
    })
    .on(RoomEvent.TrackMuted, renderVideo)
    .on(RoomEvent.TrackUnmuted, renderVideo)
    .on(RoomEvent.ParticipantAttributesChanged, () => {
      // Roles arrive as attributes: who is the master decides what this PC subscribes to.
      renderVideo();
      applySubscriptions();
    })
    .on(RoomEvent.ParticipantConnected, renderVideo)
    .on(RoomEvent.ParticipantDisconnected, renderVideo)
    .on(RoomEvent.LocalTrackPublished, () => selfTile.setTrack(videoOf(lp)));
  const qual = () => quality.set(lp.connectionQuality);
  lp.on('connectionQualityChanged', qual);
  qual();
  cleanups.push(
    c.on('state', () => {
      renderQueue();
      renderVideo();
      applySubscriptions();
    }),
    tickWaiting(queue),
  );
  renderQueue();
  renderVideo();
  // The classroom state may have arrived before this page listened for it.
  applySubscriptions();

  void (async () => {
    try {
      // The class view camera; the microphone follows the stage (Classroom turns it on there).
      await lp.setCameraEnabled(true);
    } catch (err) {
      toast(String(err), 'error');
    }
    selfTile.setTrack(videoOf(lp));
  })();
}
