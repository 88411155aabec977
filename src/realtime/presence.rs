//! Who is present, as this node knows it: its own sockets (through the
//! hub), what the other nodes said about theirs, and what watchers were last
//! shown. Kept in memory only; the hub owns one under its lock, and a
//! round (`PresenceBook::round`, run a few times a second) turns what
//! changed into frames and into what the other nodes are told. A user who
//! connects and leaves within one round changes nothing anyone sees.

use super::ids::{IdMap, IdSet};
use super::protocol::{Presence, PresenceView};

/// Which node said so (the cluster's node id).
pub type NodeId = u64;

#[derive(Default)]
pub struct PresenceBook {
    /// Users whose state may have changed since the last round.
    dirty: IdSet<i64>,
    /// Users with sockets here who are shown offline to others.
    invisible: IdSet<i64>,
    /// What the other nodes say, per user: (node, state), never offline.
    remote: IdMap<i64, Vec<(NodeId, Presence)>>,
    /// What the other nodes were last told of users here (never offline).
    announced: IdMap<i64, Presence>,
    /// What watchers were last shown (never offline).
    shown: IdMap<i64, Presence>,
    /// When users went offline, as seen here (until "last seen" is stored).
    gone: IdMap<i64, i64>,
}

/// What a round changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// For the watchers: people whose presence changed.
    pub shown: Vec<PresenceView>,
    /// For the other nodes: users here whose state (as this node alone
    /// sees it) changed.
    pub announce: Vec<(i64, Presence)>,
}

impl PresenceBook {
    /// `user` may have changed; the next round looks.
    pub fn touch(&mut self, user: i64) {
        self.dirty.insert(user);
    }

    pub fn set_invisible(&mut self, user: i64, invisible: bool) {
        if invisible {
            self.invisible.insert(user);
        } else {
            self.invisible.remove(&user);
        }
        self.touch(user);
    }

    pub fn is_invisible(&self, user: i64) -> bool {
        self.invisible.contains(&user)
    }

    /// Forgets a user who has no socket here any more (the next round
    /// finds them offline here, invisible or not).
    pub fn forget_local(&mut self, user: i64) {
        self.invisible.remove(&user);
    }

    /// Node `node` says `user` is `state`.
    pub fn set_remote(&mut self, node: NodeId, user: i64, state: Presence) {
        let states = self.remote.entry(user).or_default();
        states.retain(|(n, _)| *n != node);
        if state != Presence::Offline {
            states.push((node, state));
        }
        if states.is_empty() {
            self.remote.remove(&user);
        }
        self.touch(user);
    }

    /// Node `node` is gone (killed, or silent too long): its users are no
    /// longer present through it.
    pub fn forget_node(&mut self, node: NodeId) {
        let mut touched = Vec::new();
        self.remote.retain(|user, states| {
            let before = states.len();
            states.retain(|(n, _)| *n != node);
            if states.len() != before {
                touched.push(*user);
            }
            !states.is_empty()
        });
        self.dirty.extend(touched);
    }

    /// Forgets every other node (this one may have missed what they said).
    pub fn forget_all_nodes(&mut self) {
        let users: Vec<i64> = self.remote.keys().copied().collect();
        self.remote.clear();
        self.dirty.extend(users);
    }

    /// Whether another node says `user` has a tab in use there.
    pub fn online_elsewhere(&self, user: i64) -> bool {
        self.remote
            .get(&user)
            .is_some_and(|states| states.iter().any(|(_, p)| *p == Presence::Online))
    }

    /// Users here and their state, as the other nodes were last told.
    pub fn local_states(&self) -> Vec<(i64, Presence)> {
        self.announced.iter().map(|(u, p)| (*u, *p)).collect()
    }

    /// Where `user` stands as watchers were last shown.
    pub fn view(&self, user: i64) -> PresenceView {
        let state = self.shown.get(&user).copied().unwrap_or_default();
        PresenceView {
            user,
            state,
            last_seen: (state == Presence::Offline)
                .then(|| self.gone.get(&user).copied())
                .flatten(),
        }
    }

    /// Drops "went offline at" times older than `before` (by then stored).
    pub fn prune_gone(&mut self, before: i64) {
        self.gone.retain(|_, at| *at >= before);
    }

    /// Looks at every user touched since the last round. `local` is a
    /// user's state from this node's sockets alone (`Offline` when none).
    pub fn round(&mut self, now: i64, local: impl Fn(i64) -> Presence) -> Round {
        let mut round = Round::default();
        for user in std::mem::take(&mut self.dirty) {
            let mut here = local(user);
            if self.invisible.contains(&user) {
                here = Presence::Offline;
            }
            if self.announced.get(&user).copied().unwrap_or_default() != here {
                round.announce.push((user, here));
                set_or_clear(&mut self.announced, user, here);
            }
            let anywhere = self
                .remote
                .get(&user)
                .into_iter()
                .flatten()
                .map(|(_, p)| *p)
                .fold(here, Presence::max);
            if self.shown.get(&user).copied().unwrap_or_default() == anywhere {
                continue;
            }
            set_or_clear(&mut self.shown, user, anywhere);
            let last_seen = if anywhere == Presence::Offline {
                self.gone.insert(user, now);
                Some(now)
            } else {
                self.gone.remove(&user);
                None
            };
            round.shown.push(PresenceView {
                user,
                state: anywhere,
                last_seen,
            });
        }
        round
    }
}

fn set_or_clear(map: &mut IdMap<i64, Presence>, user: i64, state: Presence) {
    if state == Presence::Offline {
        map.remove(&user);
    } else {
        map.insert(user, state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(round: &Round) -> Vec<(i64, Presence)> {
        round.shown.iter().map(|v| (v.user, v.state)).collect()
    }

    #[test]
    fn a_flicker_within_one_round_shows_nothing() {
        let mut book = PresenceBook::default();
        book.touch(1);
        let round = book.round(10, |_| Presence::Offline);
        assert_eq!(round, Round::default(), "came and went: nothing to say");
    }

    #[test]
    fn the_most_present_tab_on_any_node_wins() {
        let mut book = PresenceBook::default();
        book.touch(1);
        let round = book.round(10, |_| Presence::Away);
        assert_eq!(states(&round), vec![(1, Presence::Away)]);
        assert_eq!(round.announce, vec![(1, Presence::Away)]);

        book.set_remote(7, 1, Presence::Online);
        let round = book.round(20, |_| Presence::Away);
        assert_eq!(states(&round), vec![(1, Presence::Online)]);
        assert!(
            round.announce.is_empty(),
            "this node's own view is unchanged"
        );

        book.forget_node(7);
        let round = book.round(30, |_| Presence::Away);
        assert_eq!(states(&round), vec![(1, Presence::Away)]);
    }

    #[test]
    fn going_offline_records_when() {
        let mut book = PresenceBook::default();
        book.set_remote(7, 2, Presence::Online);
        book.round(10, |_| Presence::Offline);
        book.set_remote(7, 2, Presence::Offline);
        let round = book.round(99, |_| Presence::Offline);
        assert_eq!(round.shown[0].last_seen, Some(99));
        assert_eq!(book.view(2).last_seen, Some(99));
        book.prune_gone(100);
        assert_eq!(book.view(2).last_seen, None);
    }

    #[test]
    fn an_invisible_user_is_shown_and_announced_offline() {
        let mut book = PresenceBook::default();
        book.touch(3);
        book.round(10, |_| Presence::Online);
        book.set_invisible(3, true);
        let round = book.round(20, |_| Presence::Online);
        assert_eq!(states(&round), vec![(3, Presence::Offline)]);
        assert_eq!(round.announce, vec![(3, Presence::Offline)]);
        book.set_invisible(3, false);
        let round = book.round(30, |_| Presence::Online);
        assert_eq!(states(&round), vec![(3, Presence::Online)]);
    }
}
