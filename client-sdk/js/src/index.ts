// @classcast/classroom: the classcast classroom protocol on top of livekit-client.
export * from './protocol';
export { TypedEmitter, type EventMap, type Listener } from './emitter';
export * from './roles';
export { StateStore, emptyState, parseState, waitingMs, formatDuration, type StateEvents } from './state';
export { RequestClient, RequestError, type RequestClientOptions } from './requests';
export {
  WhiteboardModel,
  isStroke,
  strokeProblem,
  roundPoint,
  thinPoints,
  type WhiteboardEvents,
} from './whiteboard';
export { renderPage, drawStroke, PAGE_ASPECT, BOARD_BACKGROUND } from './render';
export {
  Classroom,
  parseRoomMetadata,
  type ClassroomOptions,
  type ClassroomEvents,
  type ClassroomGroup,
} from './classroom';
export {
  listDevices,
  testCamera,
  MicLevelMeter,
  checkConnectivity,
  validateURL,
  type DeviceList,
  type ConnectivityResult,
} from './devices';
