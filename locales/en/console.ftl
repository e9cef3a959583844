# The admin console (/admin).

## Shared by the console's pages
console-title = Administration
console-overview = Overview
console-people = People
console-roles = Roles
console-apps = Apps
console-audit = Audit
console-nav-keys = Keys
console-nav-account = Your account
console-name = Name
console-save = Save
console-delete = Delete
console-disable = Disable
console-enable = Enable
console-give = Give
console-cancel = Cancel
console-previous = Previous
console-next = Next
console-since = since { $when }
console-invalid-request = Invalid request.
console-no-such-action = No such action.
console-confirm-title = Are you sure?

## States of accounts, apps and signing keys
console-state-any = any
console-state-active = active
console-state-disabled = disabled
console-state-next = next
console-state-retired = retired

## Who may use the console
console-not-admin = The admin console is for people with the admin role.
console-again-title = Sign in again
console-again-too-long-ago = For the admin console, sign in again: your last sign-in was too long ago.
console-again-with-totp = For the admin console, sign in again with your authenticator app.
console-again-needs-mfa = The admin console needs a second factor: set up an authenticator app on your account page, then sign in again with it.
console-again-submit = Sign out, then sign in again
console-again-back = Back to your account

## After an action (?done=…)
console-done-disabled = The account is disabled: its sessions ended and its grants were revoked.
console-done-enabled = The account is enabled.
console-done-ended = Every session ended and every grant was revoked.
console-done-mfa = The second factors were removed.
console-done-unlocked = The sign-in locks were lifted.
console-done-password = The password was removed and every sign-in ended.
console-done-deleted = The account was deleted.
console-done-invited = The invitation is on its way: a link to choose a password.
console-done-saved = Saved.
console-done-roles = The roles changed.
console-done-app-deleted = The app was deleted.
console-done-app-disabled = The app is disabled and its grants were revoked.
console-done-app-enabled = The app is enabled.
console-done-rotated = A new signing key was published.
console-done-rotated-now = A new signing key signs from now on.

## Overview
console-dash-signed-in-as = Signed in as { $admin }.
console-dash-people = people ({ $disabled } disabled)
console-dash-apps = apps
console-dash-sign-ins = sign-ins in the last 24 hours
console-dash-failures = failed sign-ins in the last 24 hours ({ $locked } locks)

## People
console-people-search-label = Email, name or phone
console-people-role = Role
console-people-state = State
console-people-attribute = Attribute (name:value)
console-people-attribute-format = Look for an attribute as name:value.
console-people-search = Search
console-people-found = { $total ->
    [0] { $total } found.
   *[other] { $total } found, page { $page }.
}
console-people-invite = Invite someone
console-people-invite-submit = Send an invitation

## One person
console-person-profile = Profile
console-person-email-verified = Email confirmed
console-person-phone = Phone
console-person-locale = Language (BCP 47)
console-person-zoneinfo = Time zone
console-person-save-profile = Save profile
console-person-attributes = Attributes
console-person-list-hint = (separated by commas)
console-person-save-attributes = Save attributes
console-person-take-away = Take away
console-person-give-role = Give a role
console-person-permissions = Permissions:
console-person-none = none
console-person-nothing = None.
console-person-sign-in = Sign-in
console-person-password = Password:
console-person-password-set = set
console-person-totp = Authenticator app:
console-person-totp-on = on ({ $left } recovery codes left)
console-person-totp-off = off
console-person-end-sessions = End all sessions
console-person-unlock = Lift sign-in locks
console-person-reset-mfa = Remove second factor
console-person-reset-password = Force a password reset
console-person-sessions = Sessions
console-person-last-seen = last seen { $when }
console-person-events = Recent events
console-person-all-events = All events
console-person-delete-heading = Delete
console-person-delete = Delete this account
console-person-disable-ask = Disable this account? Its sessions end and its grants are revoked at once.
console-person-end-sessions-ask = End every session of this account and revoke every grant it gave?
console-person-end-sessions-yes = End them
console-person-reset-mfa-ask = Remove this account's authenticator app and recovery codes?
console-person-reset-mfa-yes = Remove
console-person-reset-password-ask = Remove this account's password and end every sign-in?
console-person-reset-password-yes = Remove the password
console-person-delete-ask = Delete this account for good? Everything is revoked and its personal data erased.

## Roles and permissions
console-roles-heading = Roles and permissions
console-roles-system = (system)
console-roles-members = { $count } people
console-roles-revoke-label = Take { $permission } from { $role }
console-roles-grant-role = Give the role
console-roles-grant-permission = the permission
console-roles-new-role = New role
console-roles-role-name = Name (a-z, 0-9, . _ : -)
console-roles-description = Description
console-roles-create-role = Create role
console-roles-permissions = Permissions
console-roles-new-permission = New permission (like appointments:manage)
console-roles-create-permission = Create permission
console-roles-delete-role-ask = Delete the role { $name }? Every account loses it at its next token.
console-roles-delete-permission-ask = Delete the permission { $name }? Every role loses it.

## Apps
console-app-public = public
console-apps-register-heading = Register an app
console-app-redirect-uris = Redirect URIs (one per line)
console-apps-logout-uris = Post-logout redirect URIs (one per line)
console-apps-grant-types = Grant types
console-apps-scopes = Scopes (space-separated; blank: openid profile email offline_access)
console-apps-public = Public (no secret; PKCE)
console-app-skip-consent = First-party: no consent page
console-apps-register = Register
console-app-previous-secret = The previous secret works until { $until } (unix time).
console-app-logout-uris = Post-logout redirect URIs
console-app-web-origins = Web origins (blank: the redirect URIs' origins)
console-app-scopes = Scopes
console-app-access-ttl = Access-token lifetime, seconds (blank: the setting)
console-app-id-ttl = Id-token lifetime, seconds
console-app-refresh-ttl = Refresh-token lifetime, seconds
console-app-secret = Secret
console-app-grace = The old secret keeps working for (seconds, at most { $grace })
console-app-rotate-secret = Rotate the secret
console-app-access = Access
console-app-seconds = { $name } is a number of seconds
console-app-grace-range = The grace period is 0 to { $most } seconds.
console-app-rotate-ask = Give this app a new secret? The old one keeps working for the grace period you chose.
console-app-rotate-yes = Rotate
console-app-disable-ask = Disable this app? It cannot authenticate or start a sign-in, and every grant people gave it is revoked.
console-app-delete-ask = Delete this app? Its grants are revoked and its consents removed.
console-app-registered = The app is registered.
console-app-new-secret = The app has a new secret.
console-secret-title = App secret
console-secret-client-id = Client id:
console-secret-copy-now = Copy the secret now: it is shown this once and stored only as a hash.
console-secret-public = A public app has no secret.
console-secret-back = Back to the app

## Signing keys
console-keys-title = Signing keys
console-keys-created = created { $when }
console-keys-publish-next = Publish the next key
console-keys-rotate-now = Rotate now
console-keys-rotate-now-ask = Sign with a new key from now on? Apps that cache the key set fetch it again when they meet the new key.

## Audit log
console-audit-heading = Audit log
console-audit-user = Person (email, phone or id)
console-audit-kind = Kind (like sign_in.failure or admin.user_disabled)
console-audit-hours = Last hours
console-audit-filter = Filter
console-audit-none = No events.
console-audit-app = app
console-audit-newer = Newer
console-audit-older = Older
