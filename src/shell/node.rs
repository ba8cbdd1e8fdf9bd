//! One task per node incarnation: wait for a message, a deadline or a wake-up, step the
//! state machine, perform its effects. The loop stays boring on purpose.
//!
//! Sends are futures the same task polls (a `FuturesUnordered`), not spawned tasks: each
//! madsim send waits at least 1 ms of simulated time, so sends must run concurrently, but
//! a task per datagram cost more wall time than the datagram itself. A killed node drops
//! its task and with it every send still waiting, exactly as it would drop spawned tasks.
//!
//! Connections live in [`Links`]: a send to a process that is down on a host that is up
//! is refused, and the node hears of it after a round trip; a peer's crash arrives as a
//! [`Control::Disconnect`] on the node's control channel. Either way the node records a
//! `Disconnected` event and steps its state machine's `on_disconnect`.
//!
//! A quorum controller's fsync of its metadata log takes time ([`METADATA_FSYNC_US`]) and
//! blocks the node, as `log.flush` blocks Kafka's Raft thread: the effects before the
//! flush are done (the fetch answers a leader sends before it flushes are on the wire),
//! then for the drawn duration the node only drives its sends, and takes no message,
//! deadline or control input; the flush and the effects after it apply at the end. A
//! power loss in that window loses what was not yet flushed.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use futures::stream::FuturesUnordered;
use madsim::net::Endpoint;
use madsim::rand::Rng;
use madsim::time::Sleep;

use crate::core::message::Message;
use crate::core::quorum::metadata_log::QuorumDiskOp;
use crate::core::{Disconnect, DiskOp, Effect, StateMachine};
use crate::history::{EventKind, History};
use crate::shell::disk::SimDisk;
use crate::shell::links::{Control, Links};
use crate::shell::wake::{Source, TaskWaker};
use crate::shell::{Clock, TAG, address, sleep_until};
use crate::types::{NodeId, Offset, SimTime};

/// How long one fsync of a controller's metadata log takes, in µs, drawn uniformly (an
/// SSD's fsync: a millisecond or a few).
pub const METADATA_FSYNC_US: std::ops::RangeInclusive<u64> = 1_000..=5_000;

/// What every node of one run shares: the recorded history, the disks and the
/// connections.
#[derive(Debug)]
pub struct Shared {
    /// The run's history.
    pub history: Mutex<History>,
    /// Every node's disk.
    pub disk: Mutex<SimDisk>,
    /// Who is connected to whom, which processes refuse connections, which links are cut.
    pub links: Mutex<Links>,
    /// The metadata log offset below which every committed record's event is recorded
    /// (see [`Effect::TraceOnce`]).
    pub metadata_traced: Mutex<Offset>,
}

impl Shared {
    /// Records an event at the current time (and logs it when `-v` asks for events).
    pub fn record(&self, now: SimTime, kind: EventKind) {
        let mut history = self.history.lock().expect("history");
        if tracing::enabled!(target: "kafkasim::event", tracing::Level::INFO) {
            tracing::info!(target: "kafkasim::event", "[{now}] {}", history.describe(&kind));
        }
        history.push(now, kind);
    }

    /// Records the event of the committed metadata record at `offset` unless some
    /// controller already did.
    pub fn record_once(&self, now: SimTime, offset: Offset, kind: EventKind) {
        {
            let mut traced = self.metadata_traced.lock().expect("traced");
            if offset < *traced {
                return;
            }
            *traced = offset.plus(1);
        }
        self.record(now, kind);
    }
}

/// One network latency drawn from the current range, in µs.
pub fn latency_us(links: &Links) -> u64 {
    let (low, high) = links.latency_ms();
    madsim::rand::thread_rng().gen_range(low * 1000..=high * 1000)
}

/// A node's state machine, readable by the cluster handle between steps.
pub type Slot<M> = Arc<Mutex<Option<M>>>;

/// A datagram: the message and who sent it.
struct Envelope {
    from: NodeId,
    message: Message,
}

enum Wakeup {
    Message(Box<Envelope>),
    Deadline,
    Control(Control),
}

/// Runs one node incarnation until the node is killed.
pub async fn drive<M: StateMachine + Send + 'static>(
    me: NodeId,
    slot: Slot<M>,
    shared: Arc<Shared>,
    mut control: UnboundedReceiver<Control>,
    initial: Vec<Effect>,
) {
    let endpoint = Endpoint::bind(address(me))
        .await
        .expect("a killed node's address is free after restart");
    let clock = Clock::current();
    let task = Arc::new(TaskWaker::default());
    let mut seen_waker = None;
    let mut sending = Outbox::new(&task);
    let waiting = Waiting {
        clock: &clock,
        task: &task,
        seen_waker: &mut seen_waker,
    };
    act(me, &endpoint, &shared, waiting, &mut sending, initial).await;
    let mut receive = Box::pin(endpoint.recv_from_raw(TAG));
    let receiving = Source::new(&task);
    let controlled = Source::new(&task);
    // The armed timer: re-armed only when the deadline moves, since most steps leave it
    // where it was and each new timer costs a heap entry.
    let mut timer: Option<Timer> = None;
    loop {
        let deadline = slot
            .lock()
            .expect("slot")
            .as_ref()
            .and_then(|m| m.next_deadline());
        if timer.as_ref().map(|t| t.at) != deadline {
            timer = deadline.map(|at| Timer::new(&clock, at));
        }
        let wakeup = poll_fn(|cx| {
            task.update(&mut seen_waker, cx);
            if let Some((peer, message)) = sending.refused_meanwhile.pop_front() {
                let cause = Disconnect::Refused(message);
                return Poll::Ready(Wakeup::Control(Control::Disconnect(peer, cause)));
            }
            // Drive sends first: a delivered send needs no step of the state machine, a
            // refused one does.
            while let Poll::Ready(Some(refused)) = sending.poll_next() {
                if let Some((peer, message)) = refused {
                    let cause = Disconnect::Refused(message);
                    return Poll::Ready(Wakeup::Control(Control::Disconnect(peer, cause)));
                }
            }
            if let Poll::Ready(result) = receiving.poll(|cx| receive.as_mut().poll(cx)) {
                let (payload, _) = result.expect("the network never closes a live node's socket");
                let envelope = payload
                    .downcast::<Envelope>()
                    .expect("only envelopes are sent");
                return Poll::Ready(Wakeup::Message(envelope));
            }
            if let Poll::Ready(Some(input)) = controlled.poll(|cx| control.poll_next_unpin(cx)) {
                return Poll::Ready(Wakeup::Control(input));
            }
            if timer.as_mut().is_some_and(|t| t.fired(cx)) {
                return Poll::Ready(Wakeup::Deadline);
            }
            Poll::Pending
        })
        .await;
        let now = clock.now();
        let mut out = Vec::new();
        let received = matches!(wakeup, Wakeup::Message(_));
        if matches!(wakeup, Wakeup::Deadline) {
            timer = None; // fired: a deadline that stays put needs a fresh timer
        }
        {
            let mut guard = slot.lock().expect("slot");
            let machine = guard.as_mut().expect("a running node has a state machine");
            match wakeup {
                Wakeup::Message(envelope) => {
                    machine.on_message(now, envelope.from, envelope.message, &mut out)
                }
                Wakeup::Deadline | Wakeup::Control(Control::Poke) => {
                    machine.on_timeout(now, &mut out)
                }
                Wakeup::Control(Control::Disconnect(peer, cause)) => {
                    let refused = matches!(cause, Disconnect::Refused(_));
                    let kind = EventKind::Disconnected {
                        node: me,
                        peer,
                        refused,
                    };
                    shared.record(now, kind);
                    machine.on_disconnect(now, peer, cause, &mut out)
                }
            }
        }
        let waiting = Waiting {
            clock: &clock,
            task: &task,
            seen_waker: &mut seen_waker,
        };
        act(me, &endpoint, &shared, waiting, &mut sending, out).await;
        if received {
            receive = Box::pin(endpoint.recv_from_raw(TAG));
            receiving.mark();
        }
    }
}

/// What a node needs to wait on its own task while it drives its sends.
struct Waiting<'a> {
    clock: &'a Clock,
    task: &'a Arc<TaskWaker>,
    seen_waker: &'a mut Option<std::task::Waker>,
}

/// Performs a step's effects (see [`perform`]), waiting out each fsync of the metadata
/// log on the way (see [`fsync`]).
async fn act(
    me: NodeId,
    endpoint: &Endpoint,
    shared: &Shared,
    mut waiting: Waiting<'_>,
    sending: &mut Outbox,
    mut out: Vec<Effect>,
) {
    // Effects after an fsync happen when it ends.
    while let Some(rest) = perform(me, endpoint, shared, waiting.clock.now(), out, sending) {
        out = fsync(me, shared, &mut waiting, sending, rest).await;
    }
}

/// One fsync of the metadata log: `rest` starts with the flush. For a drawn
/// [`METADATA_FSYNC_US`] the node only drives its sends (refusals wait in the outbox);
/// then the flush applies and the effects after it are handed back.
async fn fsync(
    me: NodeId,
    shared: &Shared,
    waiting: &mut Waiting<'_>,
    sending: &mut Outbox,
    mut rest: Vec<Effect>,
) -> Vec<Effect> {
    let fsync_us = madsim::rand::thread_rng().gen_range(METADATA_FSYNC_US);
    let clock = waiting.clock;
    let mut done = Timer::new(clock, clock.now().plus_us(fsync_us));
    poll_fn(|cx| {
        waiting.task.update(waiting.seen_waker, cx);
        while let Poll::Ready(Some(refused)) = sending.poll_next() {
            sending.refused_meanwhile.extend(refused);
        }
        if done.fired(cx) {
            return Poll::Ready(());
        }
        Poll::Pending
    })
    .await;
    if let Effect::Disk(op) = rest.remove(0) {
        shared.disk.lock().expect("disk").apply(me, op);
    }
    rest
}

/// Whether an effect is an fsync of the metadata log.
fn is_quorum_flush(effect: &Effect) -> bool {
    matches!(effect, Effect::Disk(DiskOp::Quorum(QuorumDiskOp::Flush(_))))
}

/// A pending wake-up at a deadline. A madsim `Sleep` adds a timer entry each time it is
/// polled while pending, so it is polled once, to register, and afterwards only asked
/// whether its time has come.
struct Timer {
    at: SimTime,
    sleep: Sleep,
    registered: bool,
}

impl Timer {
    fn new(clock: &Clock, at: SimTime) -> Timer {
        Timer {
            at,
            sleep: clock.timer(at),
            registered: false,
        }
    }

    /// Whether the deadline passed; registers the wake-up on the first call.
    fn fired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.sleep.is_elapsed() {
            return true;
        }
        if !self.registered {
            self.registered = true;
            return Pin::new(&mut self.sleep).poll(cx).is_ready();
        }
        false
    }
}

/// A send that was refused: the peer and the message it could not take.
type Refused = Option<(NodeId, Box<Message>)>;

/// Sends in flight, polled by the node's own task when one of them woke.
struct Outbox {
    futures: FuturesUnordered<Pin<Box<dyn Future<Output = Refused> + Send>>>,
    source: Source,
    /// Refusals heard during an fsync, for the node to take in afterwards.
    refused_meanwhile: std::collections::VecDeque<(NodeId, Box<Message>)>,
}

impl Outbox {
    fn new(task: &Arc<TaskWaker>) -> Outbox {
        Outbox {
            futures: FuturesUnordered::new(),
            source: Source::new(task),
            refused_meanwhile: std::collections::VecDeque::new(),
        }
    }

    fn push(&mut self, send: impl Future<Output = Refused> + Send + 'static) {
        self.futures.push(Box::pin(send));
        self.source.mark();
    }

    fn poll_next(&mut self) -> Poll<Option<Refused>> {
        if self.futures.is_empty() {
            return Poll::Ready(None);
        }
        let futures = &mut self.futures;
        self.source.poll(|cx| futures.poll_next_unpin(cx))
    }
}

/// Performs effects in order: sends join `sending` (each madsim send takes at least 1 ms
/// of simulated time, so they run side by side), disk writes and traces apply at once.
/// A send to a process that is down on a host that is up is refused instead: after a
/// round trip (two drawn latencies) the node hears of it. At an fsync of the metadata log
/// it stops and hands back the effects from the flush on (see [`fsync`]).
fn perform(
    me: NodeId,
    endpoint: &Endpoint,
    shared: &Shared,
    now: SimTime,
    out: Vec<Effect>,
    sending: &mut Outbox,
) -> Option<Vec<Effect>> {
    let mut effects = out.into_iter();
    while let Some(effect) = effects.next() {
        if is_quorum_flush(&effect) {
            return Some(std::iter::once(effect).chain(effects).collect());
        }
        match effect {
            Effect::Send { to, message } => {
                tracing::trace!(target: "kafkasim::net", "{me} -> {to}: {message:?}");
                let refusal = {
                    let mut links = shared.links.lock().expect("links");
                    (!links.on_send(me, to)).then(|| latency_us(&links) + latency_us(&links))
                };
                if let Some(round_trip_us) = refusal {
                    sending.push(async move {
                        sleep_until(now.plus_us(round_trip_us)).await;
                        Some((to, Box::new(message)))
                    });
                    continue;
                }
                let endpoint = endpoint.clone();
                sending.push(async move {
                    let envelope: Box<Envelope> = Box::new(Envelope { from: me, message });
                    let _ = endpoint.send_to_raw(address(to), TAG, envelope).await; // at most once
                    None
                });
            }
            Effect::Disk(op) => shared.disk.lock().expect("disk").apply(me, op),
            Effect::Trace(kind) => shared.record(now, kind),
            Effect::TraceOnce { offset, kind } => shared.record_once(now, offset, kind),
        }
    }
    None
}
