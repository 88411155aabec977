//! Domain types shared by the server and the WASM client. The client never
//! redefines these: whatever crosses the wire is declared here once.

use serde::{Deserialize, Serialize};

/// What a person may do across Glasschat. Stored as lower-case text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Agent,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "member" => Some(Role::Member),
            "agent" => Some(Role::Agent),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The label shown next to a name.
    pub fn label(self) -> &'static str {
        match self {
            Role::Member => "Member",
            Role::Agent => "Agent",
            Role::Admin => "Admin",
        }
    }
}

/// The signed-in user as the client sees it. Never carries a password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

/// A user's privacy settings (the user menu's "Appear offline" and "Send
/// read receipts").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Privacy {
    /// Shown offline to everyone else; their own view is unchanged.
    pub invisible: bool,
    /// Others see this user's reads, and this user sees theirs.
    pub receipts: bool,
}

impl Default for Privacy {
    fn default() -> Privacy {
        Privacy {
            invisible: false,
            receipts: true,
        }
    }
}

/// One member of a room, for the member list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: i64,
    pub display_name: String,
    pub email: String,
    pub owner: bool,
}

/// A direct chat waiting for someone to sign up with `email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub email: String,
    pub created_at: i64,
    /// The sign-up page with the email filled in, to send them by hand.
    pub signup_link: String,
}

/// Who may create an account (the first account, the admin, always may).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationMode {
    /// Anyone who opens the sign-up page.
    Open,
    /// Only through an invitation link: an admin's, or a member's
    /// invitation to a direct chat.
    Invite,
    /// Addresses at the listed email domains; an admin's invitation link
    /// admits anyone else.
    Domains,
}

impl RegistrationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationMode::Open => "open",
            RegistrationMode::Invite => "invite",
            RegistrationMode::Domains => "domains",
        }
    }

    pub fn parse(text: &str) -> Option<RegistrationMode> {
        match text {
            "open" => Some(RegistrationMode::Open),
            "invite" => Some(RegistrationMode::Invite),
            "domains" => Some(RegistrationMode::Domains),
            _ => None,
        }
    }
}

/// A person's email notifications, as the settings page shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSettingsView {
    /// This server sends email (otherwise the page says how to set it up).
    pub available: bool,
    /// Minutes a message for them may wait unread before a digest: 0
    /// (off), 15 or 60.
    pub delay_minutes: i64,
}

/// A person's push notifications, as the settings page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSettingsView {
    /// The server's VAPID public key (base64url): what a browser subscribes
    /// with.
    pub public_key: String,
    /// Pushes may show the message's text (otherwise sender and room only).
    pub previews: bool,
    pub devices: Vec<PushDeviceView>,
}

/// One device that receives pushes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushDeviceView {
    pub id: i64,
    /// What the browser said it is ("Chrome on Linux").
    pub label: String,
    pub created_at: i64,
    pub last_push_at: Option<i64>,
}

/// What the login page offers besides the password form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginOptions {
    /// This server sends email: "Forgot password?" is offered.
    pub email: bool,
    /// Single sign-on is set up: "Sign in with NAME".
    #[serde(default)]
    pub sso: Option<String>,
    /// The password form is offered (admins may turn it off when single
    /// sign-on is set up).
    #[serde(default = "yes")]
    pub password: bool,
}

fn yes() -> bool {
    true
}

/// Single sign-on as the admin page shows it: the provider (from the
/// server's settings; `None` when not set up) and what admins choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoView {
    pub name: Option<String>,
    pub issuer: Option<String>,
    /// A first sign-in takes over the account with the same verified email.
    pub link_by_email: bool,
    pub password_login: bool,
}

/// What an operator sizes a node with (`/health`'s `node`, the admin
/// page's "This node"): sockets open and the most this process can hold
/// (its descriptor limit less a reserve), messages stored a second and
/// writes per writer transaction over the last few seconds, and memory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NodeSizing {
    pub sockets_open: usize,
    pub max_sockets: u64,
    pub descriptor_limit: u64,
    pub messages_per_second: f64,
    pub writes_per_transaction: f64,
    pub resident_memory_bytes: i64,
}

/// The sign-up rule in force, as the admin page and the sign-up page show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationPolicy {
    pub mode: RegistrationMode,
    /// Lower-case domains (`example.com`), kept while another mode is on.
    pub domains: Vec<String>,
}

/// An admin's invitation link that has not been used yet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InviteLinkView {
    pub id: i64,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A link just made: its path carries the token, shown this once only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInviteLink {
    pub link: InviteLinkView,
    /// The sign-up page's address with the token.
    pub signup_link: String,
}

/// What "new chat" with an email led to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DirectOutcome {
    /// The direct room with that person (new, reused or unhidden).
    Room(i64),
    /// Nobody has that email yet: an invitation was stored.
    Invited(InvitationView),
}

/// A support department (Billing, Technical Support, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentView {
    pub id: i64,
    pub name: String,
    /// Takes no new conversations; existing ones stay readable.
    pub archived: bool,
}

/// Someone who may take a department's conversations (an agent of it, or an admin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffView {
    pub user_id: i64,
    pub display_name: String,
    pub role: Role,
}

/// How long messages are kept: the instance's number of days (0: for
/// ever) and the departments' and rooms' own numbers, as the admin page
/// shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionView {
    pub days: i64,
    /// Every department, with its own number or `None` (the instance's).
    pub departments: Vec<RetentionOverride>,
    /// The rooms that have a number of their own.
    pub rooms: Vec<RetentionOverride>,
}

/// A department's or a room's own retention: `days` 0 keeps for ever,
/// `None` takes the instance's (for a room: its department's first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionOverride {
    pub id: i64,
    pub name: String,
    pub days: Option<i64>,
}

/// The longest retention an admin may set, in days (100 years).
pub const MAX_RETENTION_DAYS: i64 = 36_500;

/// One entry of the audit log, as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub id: i64,
    /// When, in ms since the epoch.
    pub at: i64,
    /// Who: their email then, or the command line.
    pub actor: String,
    /// The address the change came from, when it came over the network.
    pub address: Option<String>,
    /// What, as a short code such as `user.deactivated`.
    pub action: String,
    /// Whom or what it changed (an email, a department, a site).
    pub target: String,
    pub detail: String,
}

/// One account as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdminUserView {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Deactivated by an admin: cannot sign in; messages kept, name marked.
    pub deactivated: bool,
    /// Departments this agent works for (empty unless the role is agent).
    pub departments: Vec<i64>,
}

/// One of a department's ready answers. `{name}` (the customer) and
/// `{agent}` (who picks it) are filled in when it is picked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CannedReply {
    pub id: i64,
    pub department_id: i64,
    pub title: String,
    pub body: String,
}

impl CannedReply {
    /// The text it puts in the composer.
    pub fn fill(&self, customer: &str, agent: &str) -> String {
        self.body
            .replace("{name}", customer)
            .replace("{agent}", agent)
    }
}

/// A website that embeds the chat widget, as the admin page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteView {
    pub id: i64,
    /// The `data-site` value of the snippet.
    pub key: String,
    pub name: String,
    /// The exact origins allowed to embed it.
    pub origins: Vec<String>,
    /// The departments its visitors may reach; the first is the default
    /// (with one, visitors are not asked).
    pub departments: Vec<i64>,
    /// Visitors who give a name and an email may chat; off: only those the
    /// site's backend vouches for with a signed token.
    pub anonymous: bool,
}

/// A site just created or given a new secret: the secret is shown this
/// once and never again (only a sealed copy is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSecret {
    pub site: SiteView,
    pub secret: String,
}

/// What the widget's panel needs before anyone is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelSite {
    pub name: String,
    pub anonymous: bool,
    /// The departments offered (open ones only), the default first.
    pub departments: Vec<DepartmentView>,
}

/// The visitor the panel talks for, and their conversations' rooms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetVisitor {
    pub user: UserView,
    pub verified: bool,
}

/// What staff see about a website visitor (the details panel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorDetails {
    pub name: String,
    pub email: String,
    pub site: String,
    /// Signed in on the site (a token from its backend), not self-declared.
    pub verified: bool,
    /// The host's own id for them (verified only).
    pub external_id: Option<String>,
    /// The page they last wrote from.
    pub page: Option<String>,
    /// Their IANA time zone (`Europe/Paris`), as their browser gave it.
    pub time_zone: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_round_trips_through_its_text() {
        for role in [Role::Member, Role::Agent, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("owner"), None);
    }
}

/// One emoji of the reaction picker: the character(s), its Unicode name and
/// a shortcode (`thumbsup`), for search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmojiEntry {
    #[serde(rename = "e")]
    pub emoji: String,
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "c", default, skip_serializing_if = "String::is_empty")]
    pub code: String,
}

/// A group of the picker ("Smileys & Emotion"), in Unicode's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmojiGroup {
    pub name: String,
    pub emoji: Vec<EmojiEntry>,
}

/// One message a search found, as the asker may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub room: i64,
    /// The conversation's name as the asker sees it.
    pub room_name: String,
    pub seq: i64,
    pub message_id: i64,
    pub sender_name: String,
    pub created_at: i64,
    /// A stretch of the message as plain text, the matching words marked.
    pub snippet: Vec<SnippetPart>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetPart {
    pub text: String,
    /// A word that matched the query.
    pub hit: bool,
}

/// A page of search results, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// Ask again with `before` set to this for older results.
    pub more: Option<i64>,
    /// While older messages are still being indexed: how far, in percent.
    pub indexing: Option<u8>,
}

/// Where an upload stands, as its uploader is told (`api::files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadState {
    /// The file's id: a message names it to send it.
    pub id: i64,
    /// Bytes stored so far (a resumed upload sends from here).
    pub received: i64,
    pub size: i64,
    /// Every byte is there and the file is ready to send.
    pub complete: bool,
}
