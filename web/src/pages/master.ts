// Master teacher: own camera and mic, the whiteboard (drawn here, sent as vector strokes and as a
// video), a paged grid of the classrooms, the lesson-wide question queue, stage, chapters,
// recording indicator and lesson start/end.
import { isHost, type Classroom, type ClassroomGroup } from '@classcast/classroom';
import { RoomEvent, Track, VideoPresets, type Participant } from 'livekit-client';
import { t } from '../i18n';
import { h, toast } from '../ui/dom';
import { i18nAttr, setTx, topbar, tx } from '../ui/shell';
import {
  act, connectionPill, emptyNote, leaveButton, lessonPill, questionRow, recIndicator, serverBanner, tickWaiting, toggleButton,
} from '../ui/roomui';
import { Tile, playAudio, stopAudio, videoOf } from '../ui/tiles';
import { WhiteboardView } from '../ui/whiteboard';
import { joinClassroom, joinInfoFromURL } from '../session';

const PAGE_SIZE = 6;

export function mountMaster(root: HTMLElement): () => void {
  const info = joinInfoFromURL('master_teacher', { identity: 'master', name: 'Master' });
  const cleanups: Array<() => void> = [];
  root.replaceChildren(topbar(info.room), h('main.center', {}, h('p.empty', {}, tx('connecting'))));
  void (async () => {
    let c: Classroom;
    try {
      c = await joinClassroom(info, {
        adaptiveStream: true,
        dynacast: true,
        publishDefaults: { simulcast: true, videoCodec: 'vp8', videoSimulcastLayers: [VideoPresets.h180, VideoPresets.h360] },
        videoCaptureDefaults: { resolution: VideoPresets.h720.resolution },
      });
    } catch (err) {
      root.replaceChildren(topbar(info.room), h('main.center', {}, h('p.error', {}, t('joinFailed', { reason: String(err) }))));
      return;
    }
    cleanups.push(() => void c.disconnect());
    build(root, c, cleanups);
  })();
  return () => cleanups.forEach((f) => f());
}

function build(root: HTMLElement, c: Classroom, cleanups: Array<() => void>): void {
  const lp = c.room.localParticipant;
  const self = new Tile(t('you'), 'self');
  self.el.dataset.region = 'self';
  const board = new WhiteboardView(c, { editable: true });
  cleanups.push(() => board.dispose());
  const lesson = lessonPill(c);
  cleanups.push(lesson.dispose);
  const audio = h('div.audio', { hidden: true });

  // ---- side: lesson controls, questions, stage ----
  const startBtn = h('button.primary', { type: 'button', dataset: { action: 'lesson-start' }, onclick: act('startLesson', () => c.startLesson()) }, tx('startLesson'));
  const endBtn = h('button.danger', { type: 'button', dataset: { action: 'lesson-end' }, onclick: act('endLesson', () => c.endLesson()) }, tx('endLesson'));
  const chapterInput = i18nAttr(h('input', { name: 'chapter' }), 'placeholder', 'chapterTitle');
  const chapterForm = h('form.inline', { onsubmit: (e: Event) => {
    e.preventDefault();
    const title = chapterInput.value.trim();
    if (!title) return;
    act('markChapter', () => c.markChapter(title).then(() => void (chapterInput.value = '')))();
  } }, chapterInput, h('button.secondary', { type: 'submit', dataset: { action: 'chapter' } }, tx('markChapter')));
  const chapterList = h('ol.chapters');
  const queue = h('ul.queue', { dataset: { region: 'questions' } });
  const stageList = h('ul.stagelist', { dataset: { region: 'stage' } });
  const side = h(
    'aside.side',
    {},
    self.el,
    h('section.card', { dataset: { region: 'lesson-card' } }, h('h2', {}, tx('lesson')), h('div.row', {}, startBtn, endBtn), chapterForm, h('h3', {}, tx('chapters')), chapterList),
    h('section.card.grow', {}, h('h2', {}, tx('questions'), h('span.count', { dataset: { count: 'questions' } }, '0')), queue),
    h('section.card', {}, h('h2', {}, tx('stage')), stageList),
  );

  // ---- classroom grid ----
  const grid = h('div.classgrid', { dataset: { region: 'classrooms' } });
  const pageLabel = h('span.pagelabel');
  let gridPage = 0;
  const prev = h('button.secondary', { type: 'button', onclick: () => { gridPage--; renderGrid(); } }, '‹');
  const next = h('button.secondary', { type: 'button', onclick: () => { gridPage++; renderGrid(); } }, '›');
  i18nAttr(prev, 'title', 'prevPage');
  i18nAttr(next, 'title', 'nextPage');
  const strip = h('section.strip', {}, h('div.striphead', {}, h('h2', {}, tx('classrooms'), h('span.count', { dataset: { count: 'classrooms' } }, '0')), h('div.pager', {}, prev, pageLabel, next)), grid);
  const tiles = new Map<string, Tile>();

  const banner = serverBanner(c);
  root.replaceChildren(
    topbar(h('span', {}, c.room.name), [connectionPill(c), lesson.el, recIndicator(c)], [
      toggleButton('micOn', 'micOff', () => lp.isMicrophoneEnabled, (on) => lp.setMicrophoneEnabled(on), c),
      toggleButton('camOn', 'camOff', () => lp.isCameraEnabled, (on) => lp.setCameraEnabled(on), c),
      leaveButton(c),
    ]),
    h('main.master-layout', {}, banner, h('div.boardarea', {}, board.el), side, strip, audio),
  );

  function stageButton(classroom: string): HTMLElement {
    const on = c.store.onStage(classroom);
    return h('button', {
      type: 'button',
      className: on ? 'danger small' : 'primary small',
      disabled: !c.serverReady,
      dataset: { action: on ? 'stage-remove' : 'stage-add', classroom },
      onclick: act(on ? 'takeOffStage' : 'putOnStage', () => (on ? c.removeFromStage(classroom) : c.addToStage(classroom))),
    }, tx(on ? 'takeOffStage' : 'putOnStage'));
  }

  function renderSide(): void {
    const s = c.state;
    startBtn.disabled = !c.serverReady || s.lesson.state === 'live';
    endBtn.disabled = !c.serverReady || s.lesson.state !== 'live';
    chapterList.replaceChildren(...(s.chapters.length ? s.chapters.map((ch) => h('li', {}, ch.title)) : [h('li.empty', {}, tx('noChapters'))]));
    const qs = c.store.lessonQueue();
    root.querySelector<HTMLElement>('[data-count="questions"]')!.textContent = String(qs.length);
    queue.replaceChildren(
      ...(qs.length
        ? qs.map((q) => questionRow(q, [stageButton(q.classroom), h('button.secondary.small', { type: 'button', disabled: !c.serverReady, dataset: { action: 'dismiss' }, onclick: act('dismiss', () => c.dismissQuestion(q.id)) }, tx('dismiss'))]))
        : [emptyNote('noQuestions')]),
    );
    stageList.replaceChildren(
      ...(s.stage.length
        ? s.stage.map((e) => h('li', {}, h('strong', {}, nameOf(e.classroom)), stageButton(e.classroom)))
        : [emptyNote('stageEmpty')]),
    );
  }

  function nameOf(classroom: string): string {
    return c.classrooms().find((g) => g.classroom === classroom)?.name ?? classroom;
  }

  function groupVideo(g: ClassroomGroup): { p?: Participant; track?: ReturnType<typeof videoOf> } {
    for (const p of g.participants) {
      const track = videoOf(p);
      if (track) return { p, track };
    }
    return { p: g.participants[0] };
  }

  function renderGrid(): void {
    const groups = c.classrooms();
    root.querySelector<HTMLElement>('[data-count="classrooms"]')!.textContent = String(groups.length);
    const pages = Math.max(1, Math.ceil(groups.length / PAGE_SIZE));
    gridPage = Math.min(Math.max(0, gridPage), pages - 1);
    setTx(pageLabel, 'page', { n: gridPage + 1, total: pages });
    prev.disabled = gridPage === 0;
    next.disabled = gridPage >= pages - 1;
    const shown = groups.slice(gridPage * PAGE_SIZE, (gridPage + 1) * PAGE_SIZE);
    const keep = new Set(shown.map((g) => g.classroom));
    for (const [k, tile] of tiles) {
      if (!keep.has(k)) {
        tile.dispose();
        tiles.delete(k);
      }
    }
    const waiting = new Set(c.store.lessonQueue().map((q) => q.classroom));
    for (const g of shown) {
      let tile = tiles.get(g.classroom);
      if (!tile) {
        tile = new Tile(g.name, g.classroom);
        tiles.set(g.classroom, tile);
      }
      tile.setLabel(g.name);
      tile.setTrack(groupVideo(g).track);
      tile.setFlag('onstage', c.store.onStage(g.classroom));
      tile.setFlag('asking', waiting.has(g.classroom));
      tile.setBadges(stageButton(g.classroom));
      grid.append(tile.el);
    }
    if (!shown.length) grid.replaceChildren(emptyNote('noClassrooms'));
    else grid.querySelector('.empty')?.remove();
  }

  const refresh = () => {
    renderSide();
    renderGrid();
  };
  c.room
    .on(RoomEvent.TrackSubscribed, (track, _pub, p) => {
      playAudio(audio, track, p.identity);
      renderGrid();
    })
    .on(RoomEvent.TrackUnsubscribed, (track) => {
      stopAudio(track);
      renderGrid();
    })
    .on(RoomEvent.TrackMuted, renderGrid)
    .on(RoomEvent.TrackUnmuted, renderGrid)
    .on(RoomEvent.ParticipantConnected, renderGrid)
    .on(RoomEvent.ParticipantDisconnected, renderGrid)
    .on(RoomEvent.ParticipantAttributesChanged, renderGrid)
    .on(RoomEvent.LocalTrackPublished, () => self.setTrack(videoOf(lp)))
    .on(RoomEvent.LocalTrackUnpublished, () => self.setTrack(videoOf(lp)));
  cleanups.push(c.on('state', refresh), c.on('serverReady', refresh), tickWaiting(queue));
  refresh();
  if (!isHost(c.role)) toast(`role: ${c.role}`);

  void (async () => {
    try {
      await lp.enableCameraAndMicrophone();
    } catch (err) {
      toast(String(err), 'error');
    }
    self.setTrack(videoOf(lp, Track.Source.Camera));
    await board.setShared(true);
  })();
}
