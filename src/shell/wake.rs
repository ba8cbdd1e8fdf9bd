//! Which of a node's wake-up sources woke its task.
//!
//! A node's task waits on several futures at once (its sends, its socket, its control
//! channel, its timer). Polling every one of them on every wake-up is not free in madsim:
//! a pending `Sleep` adds a fresh timer entry each time it is polled, and channels and
//! `FuturesUnordered` re-register their wakers. So each source gets a [`Source`]: a waker
//! of its own that records that the source woke and then wakes the task. The task polls
//! a source only when it woke (or when it was just given new work, see [`Source::mark`]).
//!
//! This changes how often futures are polled, never what they return, so it is invisible
//! to the model: the same datagrams arrive at the same simulated times.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// The task's own waker, shared by all of its sources.
#[derive(Debug, Default)]
pub struct TaskWaker(Mutex<Option<Waker>>);

impl TaskWaker {
    /// Remembers the waker the task is polled with. `seen` is the task's own copy of the
    /// last one stored: in madsim the waker never changes, so this stores it once.
    pub fn update(&self, seen: &mut Option<Waker>, cx: &Context<'_>) {
        if seen.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            return;
        }
        *seen = Some(cx.waker().clone());
        *self.0.lock().expect("task waker") = Some(cx.waker().clone());
    }

    fn wake(&self) {
        if let Some(waker) = self.0.lock().expect("task waker").as_ref() {
            waker.wake_by_ref();
        }
    }
}

#[derive(Debug)]
struct Flag {
    woken: AtomicBool,
    task: Arc<TaskWaker>,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// One wake-up source of a task: polled only after it woke.
#[derive(Debug)]
pub struct Source {
    flag: Arc<Flag>,
    waker: Waker,
}

impl Source {
    /// A source of the task behind `task`. It starts as woken, so its first poll happens.
    pub fn new(task: &Arc<TaskWaker>) -> Source {
        let flag = Arc::new(Flag {
            woken: AtomicBool::new(true),
            task: task.clone(),
        });
        let waker = Waker::from(flag.clone());
        Source { flag, waker }
    }

    /// Marks the source as woken: it has new work (a future was pushed or replaced) that
    /// has not been polled yet.
    pub fn mark(&self) {
        self.flag.woken.store(true, Ordering::Release);
    }

    /// Polls the source with its own waker if it woke since its last poll; otherwise it
    /// is still pending. A ready source stays marked: a stream may have more ready.
    pub fn poll<T>(&self, poll: impl FnOnce(&mut Context<'_>) -> Poll<T>) -> Poll<T> {
        if !self.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let result = poll(&mut Context::from_waker(&self.waker));
        if result.is_ready() {
            self.mark();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_source_is_polled_only_after_it_woke() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let task_waker = Waker::from(count.clone());
        let cx = Context::from_waker(&task_waker);
        let task = Arc::new(TaskWaker::default());
        task.update(&mut None, &cx);
        let source = Source::new(&task);
        let polls = std::cell::Cell::new(0);
        let saved = std::cell::RefCell::new(None);
        let poll = |source: &Source| {
            source.poll(|cx| {
                polls.set(polls.get() + 1);
                *saved.borrow_mut() = Some(cx.waker().clone());
                Poll::<()>::Pending
            })
        };
        assert!(poll(&source).is_pending());
        assert!(poll(&source).is_pending());
        saved.take().expect("registered").wake();
        assert_eq!(count.0.load(Ordering::Relaxed), 1, "the task was woken");
        assert!(poll(&source).is_pending());
        assert_eq!(polls.get(), 2, "polled first and after the wake-up only");
        source.mark();
        assert!(source.poll(|_| Poll::Ready(())).is_ready());
        assert!(
            source.poll(|_| Poll::Ready(())).is_ready(),
            "ready stays marked"
        );
    }
}
