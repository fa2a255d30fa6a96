// Training meeting: everyone's tiles in a grid, the active speakers highlighted, raise hand, and
// host controls (mute all, spotlight, end) for the host.
import { isHost, type Classroom } from '@classcast/classroom';
import { RoomEvent, VideoPresets, type Participant } from 'livekit-client';
import { t } from '../i18n';
import { h, params, toast } from '../ui/dom';
import { topbar, tx } from '../ui/shell';
import { act, connectionPill, emptyNote, leaveButton, serverBanner, toggleButton } from '../ui/roomui';
import { QualityIndicator, Tile, playAudio, stopAudio, videoOf } from '../ui/tiles';
import { joinClassroom, joinInfoFromURL } from '../session';

export function mountMeeting(root: HTMLElement): () => void {
  const host = params().get('host') === '1';
  const info = joinInfoFromURL(host ? 'master_teacher' : 'meeting_participant', { room: 'meeting1' });
  const cleanups: Array<() => void> = [];
  root.replaceChildren(topbar(info.room), h('main.center', {}, h('p.empty', {}, tx('connecting'))));
  void (async () => {
    let c: Classroom;
    try {
      c = await joinClassroom(info, {
        adaptiveStream: true,
        dynacast: true,
        publishDefaults: { simulcast: true, videoCodec: 'vp8', videoSimulcastLayers: [VideoPresets.h180, VideoPresets.h360] },
        videoCaptureDefaults: { resolution: VideoPresets.h540.resolution },
      });
    } catch (err) {
      root.replaceChildren(topbar(info.room), h('main.center', {}, h('p.error', {}, t('joinFailed', { reason: String(err) }))));
      return;
    }
    cleanups.push(() => void c.disconnect());
    build(root, c, host);
  })();
  return () => cleanups.forEach((f) => f());
}

function build(root: HTMLElement, c: Classroom, host: boolean): void {
  const lp = c.room.localParticipant;
  const grid = h('div.meetgrid', { dataset: { region: 'tiles' } });
  const people = h('ul.people', { dataset: { region: 'participants' } });
  const audio = h('div.audio', { hidden: true });
  const tiles = new Map<string, Tile>();
  const quality = new QualityIndicator();
  const amHost = host || isHost(c.role);

  const handBtn = h('button.secondary', { type: 'button', dataset: { action: 'hand' } }, tx('raiseHand'));
  handBtn.addEventListener('click', () => {
    const raised = c.store.handRaised(lp.identity);
    act(raised ? 'lowerHand' : 'raiseHand', () => (raised ? c.lowerHand() : c.raiseHand()))();
  });
  const hostCard = h('section.card', { hidden: !amHost, dataset: { region: 'host' } },
    h('h2', {}, tx('hostControls')),
    h('div.row', {},
      h('button.secondary', { type: 'button', dataset: { action: 'mute-all' }, onclick: act('muteAll', () => c.muteAll()) }, tx('muteAll')),
      h('button.secondary', { type: 'button', onclick: act('clearSpotlight', () => c.spotlight('')) }, tx('clearSpotlight')),
      h('button.danger', { type: 'button', onclick: act('endMeeting', () => c.endMeeting()) }, tx('endMeeting')),
    ),
  );

  root.replaceChildren(
    topbar(h('span', {}, tx('meeting'), h('small', {}, ` · ${c.room.name}`)), [connectionPill(c)], [
      quality.el,
      toggleButton('micOn', 'micOff', () => lp.isMicrophoneEnabled, (on) => lp.setMicrophoneEnabled(on), c),
      toggleButton('camOn', 'camOff', () => lp.isCameraEnabled, (on) => lp.setCameraEnabled(on), c),
      handBtn,
      leaveButton(c),
    ]),
    h('main.meeting-layout', {}, serverBanner(c), grid, h('aside.side', {}, h('section.card.grow', {}, h('h2', {}, tx('participants')), people), hostCard), audio),
  );

  const everyone = (): Participant[] => [lp, ...c.visibleParticipants()];

  function render(): void {
    const list = everyone();
    const keep = new Set(list.map((p) => p.identity));
    for (const [k, tile] of tiles) if (!keep.has(k)) (tile.dispose(), tiles.delete(k));
    const spot = c.state.spotlight;
    const speakers = new Set(c.room.activeSpeakers.map((p) => p.identity));
    for (const p of list) {
      let tile = tiles.get(p.identity);
      if (!tile) {
        tile = new Tile(p.name || p.identity, p.identity);
        tiles.set(p.identity, tile);
      }
      tile.setLabel(p === lp ? `${p.name || p.identity} (${t('you')})` : p.name || p.identity);
      tile.setTrack(videoOf(p));
      tile.setFlag('speaking', speakers.has(p.identity));
      tile.setFlag('spotlight', spot === p.identity);
      tile.setFlag('hand', c.store.handRaised(p.identity));
      const badges: HTMLElement[] = [];
      if (c.store.handRaised(p.identity)) badges.push(h('span.badge.hand', {}, '✋'));
      if (!p.isMicrophoneEnabled) badges.push(h('span.badge.muted', { title: t('micOff') }, '🔇'));
      tile.setBadges(...badges);
      if (spot === p.identity) grid.prepend(tile.el);
      else grid.append(tile.el);
    }
    grid.dataset.count = String(list.length);
    people.replaceChildren(
      ...(list.length > 1 ? [] : [emptyNote('nobodyElse')]),
      ...list.map((p) =>
        h('li', { dataset: { identity: p.identity } },
          h('span.pname', {}, p.name || p.identity, c.store.handRaised(p.identity) ? ' ✋' : ''),
          amHost && p !== lp
            ? h('span.pactions', {},
              h('button.secondary.small', { type: 'button', onclick: act('mute', () => c.muteParticipant(p.identity, 'microphone')) }, tx('mute')),
              h('button.secondary.small', { type: 'button', onclick: act('spotlight', () => c.spotlight(p.identity)) }, tx('spotlight')),
              c.store.handRaised(p.identity) ? h('button.secondary.small', { type: 'button', onclick: act('lowerHand', () => c.lowerHand(p.identity)) }, tx('lowerHand')) : null,
            )
            : null,
        ),
      ),
    );
    const raised = c.store.handRaised(lp.identity);
    handBtn.setAttribute('aria-pressed', String(raised));
    handBtn.querySelector('span')!.textContent = t(raised ? 'lowerHand' : 'raiseHand');
  }

  c.room
    .on(RoomEvent.TrackSubscribed, (track, _pub, p) => {
      playAudio(audio, track, p.identity);
      render();
    })
    .on(RoomEvent.TrackUnsubscribed, (track) => {
      stopAudio(track);
      render();
    })
    .on(RoomEvent.ActiveSpeakersChanged, render)
    .on(RoomEvent.TrackMuted, render)
    .on(RoomEvent.TrackUnmuted, render)
    .on(RoomEvent.ParticipantConnected, render)
    .on(RoomEvent.ParticipantDisconnected, render)
    .on(RoomEvent.LocalTrackPublished, render);
  lp.on('connectionQualityChanged', () => quality.set(lp.connectionQuality));
  c.on('state', render);
  render();
  void lp.enableCameraAndMicrophone().catch((err: unknown) => toast(String(err), 'error')).finally(render);
}
