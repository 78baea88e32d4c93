//! The generation queue of an Ollama backend: at most `limit` answers generate at once; the
//! rest wait first-in first-out and always know their position.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use tokio::sync::watch;

use crate::{
    error::AppError,
    server::cluster::{ClusterSlot, LineSeat},
};

/// Where a waiting request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// 1 is next in line.
    Waiting(usize),
    Admitted,
}

#[derive(Clone)]
pub struct Queue {
    inner: Arc<Mutex<State>>,
}

struct State {
    limit: usize,
    max_waiting: usize,
    running: usize,
    /// Of the `running`, those still waiting for a slot shared by the instances.
    seated: usize,
    next_ticket: u64,
    waiting: VecDeque<Waiter>,
}

struct Waiter {
    ticket: u64,
    place: watch::Sender<Place>,
}

/// The right to generate; the next in line is admitted when it is dropped.
pub struct Permit {
    queue: Queue,
    /// With several instances, the backend's slot shared by all of them, given back with it.
    shared: Option<ClusterSlot>,
    /// With several instances, its seat in the instances' line until it has that slot.
    seat: Option<LineSeat>,
}

impl Permit {
    fn new(queue: Queue, seat: Option<LineSeat>) -> Permit {
        let mut permit = Permit {
            queue,
            shared: None,
            seat: None,
        };
        if let Some(seat) = seat {
            permit.sit(seat);
        }
        permit
    }

    /// Whether it holds a slot shared by the instances.
    pub fn has_shared_slot(&self) -> bool {
        self.shared.is_some()
    }

    /// Keeps a slot shared by the instances for as long as this permit, and leaves the line.
    pub fn hold(&mut self, slot: ClusterSlot) {
        self.shared = Some(slot);
        self.stand();
    }

    /// Waits for a slot shared by the instances with a seat in their line (counted as
    /// waiting, not generating, meanwhile).
    pub fn sit(&mut self, seat: LineSeat) {
        if self.seat.replace(seat).is_none() {
            self.queue.lock().seated += 1;
        }
    }

    fn stand(&mut self) {
        if self.seat.take().is_some() {
            let mut state = self.queue.lock();
            state.seated = state.seated.saturating_sub(1);
        }
    }

    /// Its seat in the instances' line, while it waits for a shared slot.
    pub fn seat_mut(&mut self) -> Option<&mut LineSeat> {
        self.seat.as_mut()
    }

    /// Its place in the instances' line, while it waits for a shared slot.
    pub fn place(&self) -> Option<usize> {
        self.seat.as_ref().map(LineSeat::place)
    }
}

/// A place in line. Dropping it leaves the line (or gives back the permit it was handed).
pub struct Ticket {
    queue: Queue,
    ticket: u64,
    place: watch::Receiver<Place>,
    taken: bool,
    /// With several instances, its seat in the backend's line shared by all of them.
    seat: Option<LineSeat>,
}

/// What joining the queue gave.
pub enum Entry {
    Admitted(Permit),
    Waiting(Ticket),
}

impl Queue {
    pub fn new(limit: usize, max_waiting: usize) -> Queue {
        Queue {
            inner: Arc::new(Mutex::new(State {
                limit: limit.max(1),
                max_waiting,
                running: 0,
                seated: 0,
                next_ticket: 0,
                waiting: VecDeque::new(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a permit at once when one is free and nobody waits; otherwise a place in line.
    /// A full line is refused (503 with Retry-After).
    pub fn join(&self) -> Result<Entry, AppError> {
        let mut state = self.lock();
        if state.running < state.limit && state.waiting.is_empty() {
            state.running += 1;
            return Ok(Entry::Admitted(Permit::new(self.clone(), None)));
        }
        if state.waiting.len() >= state.max_waiting {
            return Err(AppError::Busy {
                retry_after_secs: 10,
            });
        }
        state.next_ticket += 1;
        let ticket = state.next_ticket;
        let (tx, rx) = watch::channel(Place::Waiting(state.waiting.len() + 1));
        state.waiting.push_back(Waiter { ticket, place: tx });
        Ok(Entry::Waiting(Ticket {
            queue: self.clone(),
            ticket,
            place: rx,
            taken: false,
            seat: None,
        }))
    }

    /// Answers generating now, and requests waiting (with several instances, those let
    /// through but waiting for a shared slot count as waiting).
    pub fn load(&self) -> (usize, usize) {
        let state = self.lock();
        let seated = state.seated.min(state.running);
        (state.running - seated, state.waiting.len() + seated)
    }

    /// A permit came back: hand it to the first in line, or free it.
    fn release(&self) {
        let mut state = self.lock();
        match state.waiting.pop_front() {
            Some(next) => {
                let _ = next.place.send(Place::Admitted);
                renumber(&state.waiting);
            }
            None => state.running = state.running.saturating_sub(1),
        }
    }
}

fn renumber(waiting: &VecDeque<Waiter>) {
    for (i, w) in waiting.iter().enumerate() {
        w.place.send_if_modified(|p| {
            let changed = *p != Place::Waiting(i + 1);
            *p = Place::Waiting(i + 1);
            changed
        });
    }
}

impl Ticket {
    /// Keeps a seat in the instances' shared line for as long as it waits.
    pub fn hold_seat(&mut self, seat: LineSeat) {
        self.seat = Some(seat);
    }

    /// The current place in this instance's line.
    pub fn place(&self) -> Place {
        *self.place.borrow()
    }

    /// The place to show while it waits: in the instances' line when it has a seat there,
    /// otherwise in this instance's line. `None` once admitted.
    pub fn position(&self) -> Option<usize> {
        match (self.place(), &self.seat) {
            (Place::Admitted, _) => None,
            (Place::Waiting(_), Some(seat)) => Some(seat.place()),
            (Place::Waiting(n), None) => Some(n),
        }
    }

    /// Waits until the place in either line changes.
    pub async fn moved(&mut self) {
        let Ticket { place, seat, .. } = self;
        let shared = async {
            match seat {
                Some(seat) => seat.moved().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = place.changed() => {}
            _ = shared => {}
        }
    }

    /// Waits until the place changes; returns the new place.
    pub async fn changed(&mut self) -> Place {
        if self.place.changed().await.is_err() {
            // The queue forgot this ticket: only possible once admitted.
            return Place::Admitted;
        }
        *self.place.borrow_and_update()
    }

    /// Turns an admitted ticket into its permit.
    pub fn into_permit(mut self) -> Option<Permit> {
        if self.place() != Place::Admitted {
            return None;
        }
        self.taken = true;
        Some(Permit::new(self.queue.clone(), self.seat.take()))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.taken {
            return;
        }
        let mut state = self.queue.lock();
        if let Some(i) = state.waiting.iter().position(|w| w.ticket == self.ticket) {
            state.waiting.remove(i);
            renumber(&state.waiting);
        } else {
            // Admitted but never used: pass the permit on.
            drop(state);
            self.queue.release();
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.stand();
        self.queue.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(entry: Entry) -> Ticket {
        match entry {
            Entry::Waiting(t) => t,
            Entry::Admitted(_) => panic!("expected to wait"),
        }
    }

    #[test]
    fn admits_up_to_the_limit_then_queues_in_order() {
        let q = Queue::new(2, 10);
        let a = q.join().unwrap();
        let _b = q.join().unwrap();
        assert!(matches!(a, Entry::Admitted(_)));
        let c = waiting(q.join().unwrap());
        let d = waiting(q.join().unwrap());
        assert_eq!(
            (c.place(), d.place()),
            (Place::Waiting(1), Place::Waiting(2))
        );
        assert_eq!(q.load(), (2, 2));
        drop(a);
        assert_eq!((c.place(), d.place()), (Place::Admitted, Place::Waiting(1)));
        let permit_c = c.into_permit().expect("admitted");
        assert_eq!(q.load(), (2, 1));
        drop(permit_c);
        assert_eq!(d.place(), Place::Admitted);
    }

    #[test]
    fn leaving_the_line_moves_the_others_up_and_a_full_line_is_refused() {
        let q = Queue::new(1, 2);
        let _a = q.join().unwrap();
        let b = waiting(q.join().unwrap());
        let c = waiting(q.join().unwrap());
        assert!(matches!(q.join(), Err(AppError::Busy { .. })));
        drop(b);
        assert_eq!(c.place(), Place::Waiting(1));
        assert_eq!(q.load(), (1, 1));
    }

    #[test]
    fn an_admitted_ticket_dropped_unused_passes_the_permit_on() {
        let q = Queue::new(1, 5);
        let a = q.join().unwrap();
        let b = waiting(q.join().unwrap());
        let c = waiting(q.join().unwrap());
        drop(a);
        assert_eq!(b.place(), Place::Admitted);
        drop(b);
        assert_eq!(c.place(), Place::Admitted);
        drop(c);
        assert_eq!(q.load(), (0, 0));
        assert!(matches!(q.join().unwrap(), Entry::Admitted(_)));
    }
}
