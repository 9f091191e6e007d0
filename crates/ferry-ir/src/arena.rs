//! Typed handles into append-only arenas with tombstones.
//!
//! Handles are `NonZeroU32` inside, so `Option<Id<T>>` costs no more than `Id<T>`. Slots are
//! never reused: a removed node or value leaves a tombstone, so a stale handle is detected
//! (it yields `None`) instead of silently pointing at a newcomer.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::num::NonZeroU32;

/// A typed index into an [`Arena<T>`].
pub struct Id<T> {
    raw: NonZeroU32,
    _marker: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    fn from_index(index: usize) -> Id<T> {
        let raw = u32::try_from(index + 1)
            .ok()
            .and_then(NonZeroU32::new)
            .unwrap_or_else(|| panic!("arena index {index} does not fit in 32 bits"));
        Id { raw, _marker: PhantomData }
    }

    /// The slot number, starting at 0. Stable for the arena's lifetime.
    pub fn index(self) -> usize {
        (self.raw.get() - 1) as usize
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}
impl<T> Eq for Id<T> {}
impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.raw.cmp(&other.raw)
    }
}
impl<T> Hash for Id<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.raw.hash(state);
    }
}
impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = std::any::type_name::<T>();
        let short = full.rsplit("::").next().unwrap_or(full);
        write!(f, "{short}#{}", self.index())
    }
}

/// Storage for `T`s addressed by [`Id<T>`]. Removal leaves a tombstone.
#[derive(Clone)]
pub struct Arena<T> {
    slots: Vec<Option<T>>,
    live: usize,
}

impl<T: fmt::Debug> fmt::Debug for Arena<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena { slots: Vec::new(), live: 0 }
    }
}

impl<T> Arena<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Arena { slots: Vec::with_capacity(n), live: 0 }
    }

    pub fn alloc(&mut self, value: T) -> Id<T> {
        let id = Id::from_index(self.slots.len());
        self.slots.push(Some(value));
        self.live += 1;
        id
    }

    pub fn get(&self, id: Id<T>) -> Option<&T> {
        self.slots.get(id.index()).and_then(Option::as_ref)
    }

    pub fn get_mut(&mut self, id: Id<T>) -> Option<&mut T> {
        self.slots.get_mut(id.index()).and_then(Option::as_mut)
    }

    /// Removes the item, leaving a tombstone; returns it if it was live.
    pub fn remove(&mut self, id: Id<T>) -> Option<T> {
        let taken = self.slots.get_mut(id.index()).and_then(Option::take);
        if taken.is_some() {
            self.live -= 1;
        }
        taken
    }

    pub fn contains(&self, id: Id<T>) -> bool {
        self.get(id).is_some()
    }

    /// Number of live items.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Live items in allocation order.
    pub fn iter(&self) -> impl Iterator<Item = (Id<T>, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|v| (Id::from_index(i), v)))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Id<T>, &mut T)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| s.as_mut().map(|v| (Id::from_index(i), v)))
    }
}

impl<T> std::ops::Index<Id<T>> for Arena<T> {
    type Output = T;
    /// Panics on a stale handle: that is a bug in ferry, never a property of an input file.
    fn index(&self, id: Id<T>) -> &T {
        match self.get(id) {
            Some(v) => v,
            None => panic!("stale handle {id:?}"),
        }
    }
}

impl<T> std::ops::IndexMut<Id<T>> for Arena<T> {
    fn index_mut(&mut self, id: Id<T>) -> &mut T {
        match self.get_mut(id) {
            Some(v) => v,
            None => panic!("stale handle {id:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tombstones_are_not_reused() {
        let mut a: Arena<&str> = Arena::new();
        let x = a.alloc("x");
        let y = a.alloc("y");
        assert_eq!(a.remove(x), Some("x"));
        assert_eq!(a.remove(x), None);
        let z = a.alloc("z");
        assert_ne!(x, z);
        assert_eq!(a.get(x), None);
        assert_eq!(a.len(), 2);
        let live: Vec<_> = a.iter().map(|(_, v)| *v).collect();
        assert_eq!(live, ["y", "z"]);
        assert_eq!(a[y], "y");
        assert_eq!(std::mem::size_of::<Option<Id<u8>>>(), 4);
    }
}
