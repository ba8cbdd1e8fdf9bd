//! The cluster handle the harness drives: creates every node, applies faults through
//! madsim's node handle and network, and reads node state between steps.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use futures::channel::mpsc::unbounded;
use madsim::net::NetSim;
use madsim::rand::Rng;
use madsim::runtime::Handle;

use crate::config::Config;
use crate::core::broker::Broker;
use crate::core::consumer::Consumer;
use crate::core::group::member::GroupMember;
use crate::core::prng::Prng;
use crate::core::producer::{Producer, ProducerWorkload};
use crate::core::quorum::controller::Controller;
use crate::core::quorum::node::ControllerNode;
use crate::core::quorum::quorum_controller::QuorumController;
use crate::core::quorum::records::ControllerState;
use crate::core::{Disconnect, Effect, StateMachine};
use crate::history::{EventKind, History};
use crate::layout::Layout;
use crate::quorum_event::QuorumEvent;
use crate::shell::disk::{PowerLossCut, SimDisk};
use crate::shell::links::{Control, Links};
use crate::shell::node::{Shared, Slot, drive, latency_us};
use crate::shell::{address, now, sleep_until};
use crate::types::{BrokerId, NodeId, Offset, PartitionId};

/// The clients of one run.
#[derive(Clone, Debug)]
pub struct ClientPlan {
    /// Producer clients.
    pub producers: u8,
    /// Consumer clients.
    pub consumers: u8,
    /// What each producer sends.
    pub workload: ProducerWorkload,
    /// Consumer groups, each member a client node.
    pub groups: Vec<crate::scenario::GroupSpec>,
}

mod groups;

/// Every node of a running simulation.
pub struct Cluster {
    handle: Handle,
    layout: Layout,
    shared: Arc<Shared>,
    ids: BTreeMap<NodeId, madsim::task::NodeId>,
    brokers: BTreeMap<BrokerId, Slot<Broker>>,
    controllers: BTreeMap<NodeId, Slot<ControllerNode>>,
    producers: BTreeMap<u8, Slot<Producer>>,
    consumers: BTreeMap<u8, Slot<Consumer>>,
    members: BTreeMap<NodeId, Slot<GroupMember>>,
    down: BTreeSet<NodeId>,
    paused: BTreeSet<NodeId>,
}

impl Cluster {
    /// Creates and starts every node. Must run inside the madsim runtime. `latency_ms` is
    /// the network's latency range (the disconnects the shell delivers take as long).
    pub fn start(
        layout: &Layout,
        config: &Config,
        clients: &ClientPlan,
        latency_ms: (u64, u64),
    ) -> Cluster {
        let handle = Handle::current();
        let names = layout.partitions.iter().map(|p| p.name()).collect();
        let shared = Arc::new(Shared {
            history: Mutex::new(History::new(names)),
            disk: Mutex::new(SimDisk::default()),
            links: Mutex::new(Links::new(latency_ms)),
            metadata_traced: Mutex::new(Offset(0)),
        });
        let mut cluster = Cluster {
            handle,
            layout: layout.clone(),
            shared,
            ids: BTreeMap::new(),
            brokers: BTreeMap::new(),
            controllers: BTreeMap::new(),
            producers: BTreeMap::new(),
            consumers: BTreeMap::new(),
            members: BTreeMap::new(),
            down: BTreeSet::new(),
            paused: BTreeSet::new(),
        };
        for &c in &layout.controllers {
            cluster.start_controller(c, config);
        }
        for &b in &layout.brokers {
            cluster.start_broker(b, config);
        }
        let partitions: Vec<PartitionId> = layout.user_partition_ids();
        for p in 1..=clients.producers {
            let prng = Prng::new(madsim::rand::thread_rng().r#gen::<u64>());
            let producer = Producer::new(
                p,
                config.clone(),
                clients.workload.clone(),
                partitions.clone(),
                layout.brokers.clone(),
                now(),
                prng,
            );
            let slot = Arc::new(Mutex::new(Some(producer)));
            cluster.spawn_client(NodeId::Producer(p), slot.clone());
            cluster.producers.insert(p, slot);
        }
        for c in 1..=clients.consumers {
            let consumer = Consumer::new(
                c,
                config.clone(),
                partitions.clone(),
                layout.brokers.clone(),
            );
            let slot = Arc::new(Mutex::new(Some(consumer)));
            cluster.spawn_client(NodeId::Consumer(c), slot.clone());
            cluster.consumers.insert(c, slot);
        }
        cluster.start_members(config, &clients.groups);
        cluster
    }

    fn start_controller(&mut self, me: NodeId, config: &Config) {
        let slot: Slot<ControllerNode> = Arc::new(Mutex::new(None));
        let (init_slot, shared, layout, config) = (
            slot.clone(),
            self.shared.clone(),
            self.layout.clone(),
            config.clone(),
        );
        let node = self
            .handle
            .create_node()
            .name(me.to_string())
            .ip(address(me).ip())
            .init(move || {
                let (slot, shared) = (init_slot.clone(), shared.clone());
                let mut initial = Vec::new();
                let controller = if layout.has_quorum() {
                    let stored = shared.disk.lock().expect("disk").boot_quorum(me);
                    let seed = madsim::rand::thread_rng().r#gen::<u64>();
                    let q =
                        QuorumController::recover(me, config.clone(), &layout, stored, now(), seed);
                    initial = q.boot_events();
                    ControllerNode::Quorum(Box::new(q))
                } else {
                    let stored = shared.disk.lock().expect("disk").boot_controller();
                    let single = Controller::recover(config.clone(), &layout, stored, now());
                    ControllerNode::Single(Box::new(single))
                };
                *slot.lock().expect("slot") = Some(controller);
                let control = connect(&shared, me);
                drive(me, slot, shared, control, initial)
            });
        self.ids.insert(me, node.build().id());
        self.controllers.insert(me, slot);
    }

    fn start_broker(&mut self, b: BrokerId, config: &Config) {
        let slot: Slot<Broker> = Arc::new(Mutex::new(None));
        let (init_slot, shared, layout, config) = (
            slot.clone(),
            self.shared.clone(),
            self.layout.clone(),
            config.clone(),
        );
        let name = format!("broker-{b}");
        let node = self
            .handle
            .create_node()
            .name(name)
            .ip(address(NodeId::Broker(b)).ip())
            .init(move || {
                let (slot, shared) = (init_slot.clone(), shared.clone());
                let stored = shared.disk.lock().expect("disk").boot_broker(b);
                let mut prng = Prng::new(madsim::rand::thread_rng().r#gen::<u64>());
                let mut broker =
                    Broker::recover(b, config.clone(), &layout, stored, &mut prng, now());
                if slot.lock().expect("slot").is_none() {
                    broker.first_process(); // no earlier incarnation left a state
                }
                let mut initial = Vec::new();
                broker.on_start(now(), &mut initial);
                *slot.lock().expect("slot") = Some(broker);
                let control = connect(&shared, NodeId::Broker(b));
                drive(NodeId::Broker(b), slot, shared, control, initial)
            });
        self.ids.insert(NodeId::Broker(b), node.build().id());
        self.brokers.insert(b, slot);
    }

    fn spawn_client<M: StateMachine + Send + 'static>(&mut self, me: NodeId, slot: Slot<M>) {
        let shared = self.shared.clone();
        let node = self
            .handle
            .create_node()
            .name(me.to_string())
            .ip(address(me).ip())
            .init(move || {
                let mut initial: Vec<Effect> = Vec::new();
                if let Some(machine) = slot.lock().expect("slot").as_mut() {
                    machine.on_timeout(now(), &mut initial);
                }
                let control = connect(&shared, me);
                drive(me, slot.clone(), shared.clone(), control, initial)
            });
        self.ids.insert(me, node.build().id());
    }

    /// Records a harness event (fault, phase, final state) at the current time.
    pub fn record(&self, kind: EventKind) {
        self.shared.record(now(), kind);
    }

    /// Reads the history recorded so far.
    pub fn with_history<T>(&self, f: impl FnOnce(&History) -> T) -> T {
        f(&self.shared.history.lock().expect("history"))
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Whether a node is crashed or powered off.
    pub fn is_down(&self, node: NodeId) -> bool {
        self.down.contains(&node)
    }

    /// Whether a node is cut off from every other node (`isolate`).
    pub fn is_isolated(&self, node: NodeId) -> bool {
        self.shared.links.lock().expect("links").is_isolated(node)
    }

    /// Whether a node is paused.
    pub fn is_paused(&self, node: NodeId) -> bool {
        self.paused.contains(&node)
    }

    /// Process crash: the page cache survives, and the host, which stays up, resets every
    /// connection the process held (each peer hears of it after one network latency) and
    /// refuses new ones until the process restarts.
    pub fn crash(&mut self, node: NodeId) {
        self.kill(node, true);
    }

    /// Kills `node`'s process; with `host_up`, its peers hear of it.
    fn kill(&mut self, node: NodeId, host_up: bool) {
        if !self.down.insert(node) {
            return;
        }
        self.handle.kill(self.ids[&node]);
        self.paused.remove(&node);
        let mut links = self.shared.links.lock().expect("links");
        for (peer, inbox) in links.died(node, host_up) {
            let at = now().plus_us(latency_us(&links));
            tracing::trace!(target: "kafkasim::net", "{node} resets its connection to {peer}");
            madsim::task::spawn(async move {
                sleep_until(at).await;
                // A peer that died meanwhile dropped its channel: nothing to tell.
                let _ = inbox.unbounded_send(Control::Disconnect(node, Disconnect::Reset));
            });
        }
    }

    /// Power loss: the process dies silently (the host is down: nobody hears of it) and
    /// each log keeps a random part of its unflushed tail: a broker's as
    /// [`kept_after_power_loss`] draws it, a quorum controller's metadata log a uniform
    /// share of it, none to all (its tail is the few entries an fsync was writing, which
    /// land or not: the rule for brokers would never lose a tail of one entry).
    pub fn power_loss(&mut self, node: NodeId) -> Vec<PowerLossCut> {
        self.kill(node, false);
        let NodeId::Broker(b) = node else {
            if self.layout.has_quorum() {
                let mut rng = madsim::rand::thread_rng();
                let cut = self
                    .shared
                    .disk
                    .lock()
                    .expect("disk")
                    .power_loss_quorum(node, |len| rng.gen_range(0..=len));
                if let Some((from, to)) = cut {
                    tracing::trace!(target: "kafkasim::net", "{node} lost metadata log entries {from:?}..{to:?}");
                }
            }
            return Vec::new();
        };
        let mut rng = madsim::rand::thread_rng();
        self.shared
            .disk
            .lock()
            .expect("disk")
            .power_loss(b, |len| kept_after_power_loss(len, rng.r#gen()))
    }

    /// A broker's drive is replaced: a running broker stops (its host stays up, so peers'
    /// connections are reset) and starts again at once on an empty disk; one that is down
    /// gets the empty disk and stays down. Gives what each log held.
    pub fn disk_wipe(&mut self, broker: BrokerId) -> Vec<(PartitionId, Offset)> {
        let node = NodeId::Broker(broker);
        let was_running = !self.down.contains(&node);
        self.kill(node, true);
        let wiped = self.shared.disk.lock().expect("disk").wipe(broker);
        if was_running {
            self.restart(node);
        }
        wiped
    }

    /// Starts a crashed node again; a running node is left alone.
    pub fn restart(&mut self, node: NodeId) {
        if self.down.remove(&node) {
            self.handle.restart(self.ids[&node]);
        }
    }

    /// Freezes a running process.
    pub fn pause(&mut self, node: NodeId) {
        if !self.down.contains(&node) && self.paused.insert(node) {
            self.handle.pause(self.ids[&node]);
        }
    }

    /// Lets a paused process go on.
    pub fn resume(&mut self, node: NodeId) {
        if self.paused.remove(&node) {
            self.handle.resume(self.ids[&node]);
        }
    }

    /// Cuts a node off from every other node.
    pub fn isolate(&mut self, node: NodeId) {
        if self.shared.links.lock().expect("links").isolate(node) {
            NetSim::current().clog_node(self.ids[&node]);
        }
    }

    /// Cuts every link between nodes of different groups, both ways.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        let net = NetSim::current();
        let mut links = self.shared.links.lock().expect("links");
        for (i, left) in groups.iter().enumerate() {
            for right in groups.iter().skip(i + 1) {
                for a in left {
                    for b in right.iter().filter(|b| *b != a) {
                        for (from, to) in [(*a, *b), (*b, *a)] {
                            if links.clog(from, to) {
                                net.clog_link(self.ids[&from], self.ids[&to]);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        let net = NetSim::current();
        let (isolated, clogged) = self.shared.links.lock().expect("links").heal();
        for node in isolated {
            net.unclog_node(self.ids[&node]);
        }
        for (from, to) in clogged {
            net.unclog_link(self.ids[&from], self.ids[&to]);
        }
    }

    /// Sets the loss rate of every link.
    pub fn set_packet_loss(&mut self, rate: f64) {
        NetSim::current().update_config(|c| c.packet_loss_rate = rate);
    }

    /// Sets the latency range of every message sent from now on: uniform in
    /// `[low, high]` milliseconds (`1 <= low <= high`), as `network.latency_ms` does.
    pub fn set_latency_ms(&mut self, low: u64, high: u64) {
        let range = latency_range(low, high);
        NetSim::current().update_config(|c| c.send_latency = range);
        self.shared
            .links
            .lock()
            .expect("links")
            .set_latency_ms(low, high);
    }

    /// Every node, controller and brokers first.
    pub fn nodes(&self) -> Vec<NodeId> {
        self.ids.keys().copied().collect()
    }

    /// Reads a broker's last state (of its current or last incarnation) without copying it.
    pub fn with_broker<T>(&self, b: BrokerId, f: impl FnOnce(&Broker) -> T) -> Option<T> {
        self.brokers.get(&b)?.lock().expect("slot").as_ref().map(f)
    }

    /// A copy of the metadata as committed: the single controller's durable state, or
    /// the state of the quorum controller that has replayed the most of the metadata log.
    pub fn controller_state(&self) -> Option<ControllerState> {
        let applied =
            |slot: &Slot<ControllerNode>| slot.lock().expect("slot").as_ref().map(|c| c.applied());
        // The first of those that replayed the most; its state is copied once.
        let best = self
            .controllers
            .values()
            .filter(|slot| applied(slot).is_some())
            .rev()
            .max_by_key(|slot| applied(slot))?;
        best.lock()
            .expect("slot")
            .as_ref()
            .map(|c| c.state().clone())
    }

    /// The active controller now (a running controller that leads the metadata log and
    /// has replayed it), else the one that was active last, else the first controller.
    pub fn active_controller(&self) -> NodeId {
        let running_active = self.controllers.iter().find(|(node, slot)| {
            !self.down.contains(node)
                && slot
                    .lock()
                    .expect("slot")
                    .as_ref()
                    .is_some_and(|c| c.is_active())
        });
        if let Some((node, _)) = running_active {
            return *node;
        }
        let last = self.with_history(|h: &History| {
            h.events.iter().rev().find_map(|e| match &e.kind {
                EventKind::Quorum(QuorumEvent::Activated { node, .. }) => Some(*node),
                _ => None,
            })
        });
        last.unwrap_or(self.layout.controllers[0])
    }

    /// Whether every producer has an outcome for every message.
    pub fn producers_idle(&self) -> bool {
        self.producers
            .values()
            .all(|slot| slot.lock().expect("slot").as_ref().is_none_or(|p| p.idle()))
    }

    /// Asks producer `p` to send one message to `partition` now.
    pub fn probe(&self, p: u8, partition: PartitionId) {
        if let Some(slot) = self.producers.get(&p) {
            if let Some(producer) = slot.lock().expect("slot").as_mut() {
                producer.request_probe(partition);
            }
            let inbox = self
                .shared
                .links
                .lock()
                .expect("links")
                .inbox(NodeId::Producer(p));
            if let Some(inbox) = inbox {
                let _ = inbox.unbounded_send(Control::Poke);
            }
        }
    }

    /// Consumer `c`'s position in `partition`.
    pub fn consumer_position(&self, c: u8, partition: PartitionId) -> Offset {
        self.consumers[&c]
            .lock()
            .expect("slot")
            .as_ref()
            .map(|x| x.position(partition))
            .unwrap_or_default()
    }

    /// Consumer client numbers.
    pub fn consumer_ids(&self) -> Vec<u8> {
        self.consumers.keys().copied().collect()
    }

    /// Unflushed records of a partition on a broker.
    pub fn unflushed(&self, b: BrokerId, partition: PartitionId) -> usize {
        self.shared
            .disk
            .lock()
            .expect("disk")
            .unflushed(b, partition)
    }

    /// Unflushed entries of a quorum controller's metadata log (see
    /// [`SimDisk::metadata_unflushed`]).
    pub fn metadata_unflushed(&self, node: NodeId) -> usize {
        self.shared
            .disk
            .lock()
            .expect("disk")
            .metadata_unflushed(node)
    }

    /// Datagrams delivered so far.
    pub fn messages_delivered(&self) -> u64 {
        NetSim::current().stat().msg_count
    }

    /// Kills every node (a runtime dropped with live tasks leaks memory) and hands back
    /// the history.
    pub async fn shutdown(self) -> History {
        for id in self.ids.values() {
            self.handle.kill(*id);
        }
        madsim::time::sleep(std::time::Duration::from_millis(1)).await;

        self.shared.history.lock().expect("history").clone()
    }
}

/// A new incarnation of `node`: its control channel, registered with the links.
fn connect(shared: &Shared, node: NodeId) -> futures::channel::mpsc::UnboundedReceiver<Control> {
    let (inbox, control) = unbounded();
    shared.links.lock().expect("links").started(node, inbox);
    control
}

/// madsim's half-open latency range for `[low, high]` milliseconds, both ends included.
pub fn latency_range(low: u64, high: u64) -> std::ops::Range<std::time::Duration> {
    std::time::Duration::from_millis(low)
        ..std::time::Duration::from_millis(high) + std::time::Duration::from_nanos(1)
}

/// How many of `unflushed` records a power loss keeps, for a uniform draw `u` in [0, 1):
/// it loses `unflushed · u³` of them (rounded down). Every loss from none to all can
/// happen, but short ones are likelier (a quarter of draws lose less than 1/64 of the tail):
/// the kernel writes dirty pages back all the time, so what a power cut catches in flight
/// is mostly the last writes, and a short loss on one replica against a longer log on
/// another is what divergence needs.
pub fn kept_after_power_loss(unflushed: usize, u: f64) -> usize {
    let lost = (unflushed as f64 * u * u * u).floor() as usize;
    unflushed - lost.min(unflushed)
}

#[cfg(test)]
mod tests {
    use super::kept_after_power_loss;

    #[test]
    fn power_loss_keeps_between_none_and_all_and_favours_short_losses() {
        assert_eq!(kept_after_power_loss(100, 0.0), 100);
        assert_eq!(kept_after_power_loss(100, 0.5), 88);
        assert_eq!(kept_after_power_loss(100, 0.999_999), 1);
        assert_eq!(kept_after_power_loss(0, 0.7), 0);
        let draws: Vec<usize> = (0..1000)
            .map(|i| kept_after_power_loss(64, f64::from(i) / 1000.0))
            .collect();
        let none_lost = draws.iter().filter(|k| **k == 64).count();
        assert_eq!(none_lost, 250, "u < 1/4 loses less than 1/64 of 64 records");
    }
}
