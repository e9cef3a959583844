# The account page and what it leads to (templates/accounts/, src/pages/account/).

## The account page
account-title = Your account
account-admin-link = Administration
account-profile-heading = Profile
account-name-label = Name
account-name-save = Save name
account-name-saved = Your name was saved.
account-email-label = Change your email address
account-email-send = Send a code to the new address
account-email-invalid = Enter a valid email address.
account-email-changed = Your email address was changed.
account-email-taken = That address belongs to another account.
account-about-heading = About you
account-attribute-list-hint = (separated by commas)
account-attribute-yes = yes
account-attribute-no = no
account-attribute-number = { $label } takes a number.
account-attributes-save = Save
account-attributes-saved = Saved.
account-phone-heading = Phone
account-phone-confirmed = (confirmed): you can sign in with a code by text message.
account-phone-add = Add a phone number
account-phone-change = Change your phone number
account-phone-send = Send a code
account-phone-done = Your phone number is confirmed.
account-phone-taken = That number belongs to another account.
account-totp-heading = Two-step verification
account-totp-on = On: sign-in asks for a code from your authenticator app. Recovery codes left: { $count }.
account-totp-off = Off. Add an authenticator app so that a password alone cannot open your account.
account-totp-turn-off = Turn off
account-totp-is-off = Two-step verification is off.
account-recovery-new = Make new recovery codes
account-recovery-needs-totp = Sign in again (sign out, then in) to make new recovery codes.
account-password-current = Current password
account-password-new = New password
account-password-change = Change password
account-password-set = Set a password
account-password-wrong = The current password is not right.
account-password-changed = Your password was changed. Other sessions were signed out.
account-sessions-heading = Sessions and devices
account-session-current = (this browser)
account-session-first-seen = first seen { $when }
account-session-last-seen = last seen { $when }
account-session-unknown-browser = Unknown browser
account-session-end = End
account-session-ended = The session was ended.
account-sign-out-everywhere = Sign out everywhere
account-sign-out = Sign out
account-data-heading = Your data
account-data-download = Download my data (JSON)
account-delete-button = Delete my account…
account-apps-heading = Connected apps
account-apps-none = No apps have access to your account.
account-app-since = ({ $scopes }, since { $since })
account-app-remove = Remove access
account-app-removed = The app can no longer use your account.

## A fresh sign-in first: "…before { $doing }."
account-fresh-sign-in = For your safety, sign in again (sign out, then in) before { $doing }.
account-doing-export = downloading your data
account-doing-delete = deleting your account
account-doing-set-password = setting a password
account-doing-phone = adding or changing a phone number
account-doing-email = changing your email address
account-doing-totp-setup = setting up an authenticator app
account-doing-totp-off = turning off two-step verification
account-doing-recovery = making new recovery codes

## What changed, as the email to the owner says it
account-change-password = the password was changed
account-change-password-set = a password was set
account-change-phone-start = the phone number ending in
account-change-phone-end = can now sign in
account-change-email = the email address of the account was changed
account-change-totp-added = an authenticator app was added
account-change-totp-off = two-step verification was turned off
account-change-recovery = new recovery codes were made (the old ones no longer work)
account-change-deletion = deletion requested: it will be erased after { $date }; sign in before then to keep it

## Confirming a phone number or email address with a code (accounts/code.html)
account-confirm-phone-title = Confirm your phone number
account-confirm-email-title = Confirm your new email address
account-code-sent-start = If
account-code-sent-end = can receive it, we sent a 6-digit code there. It works once, in this browser, for a few minutes.
account-code-continue = Continue
account-code-wrong = That code is not right, or it can no longer be used.
account-code-expired = This code has expired. Start again.
account-code-not-sent = We could not send a code: { $reason }.
account-invalid-request = Invalid request.

## The authenticator app
account-totp-setup = Set up an authenticator app
account-totp-scan = Scan this code with your authenticator app, or type in the key below.
account-totp-qr-alt = QR code for your authenticator app
account-totp-key = Key:
account-totp-code-label = The 6-digit code the app shows
account-totp-turn-on = Turn on
account-totp-already = An authenticator app is already set up.
account-totp-wrong-code = That code was not right. Set up the app again and enter the current code.
account-recovery-title = Recovery codes
account-recovery-heading = Your recovery codes
account-recovery-keep = Keep these somewhere safe. Each one signs you in once if you lose your authenticator app. They are shown only now.
account-recovery-done = Done

## Deleting the account
account-leave-title = Delete your account
account-leave-heading = Delete your account?
account-leave-sessions-start = Every session of
account-leave-sessions-end = ends and every app loses its access at once.
account-leave-erased-after = The account and your personal data are erased after { $days } days; signing in before then keeps it.
account-leave-erased-now = The account and your personal data are erased now.
account-leave-download-start = You may want to
account-leave-download-link = download your data
account-leave-download-end = first.
account-leave-confirm = Delete my account
account-leave-keep = Keep it
account-leave-done-heading = Your account is being deleted
account-leave-deleted = { $email } was deleted, with everything Porta kept about it.
account-leave-pending = You are signed out everywhere and every app lost its access. { $email } will be erased after { $date }.
account-leave-changed-mind = Changed your mind? Sign in before then and the account stays.
account-language-label = Language
account-language-auto = As my browser asks
account-zone-label = Time zone (like Europe/Lisbon; empty for UTC)
account-preferences-save = Save language and time zone
account-preferences-saved = Language and time zone saved.
account-language-unknown = Choose one of the languages in the list.
account-zone-unknown = That is not a time zone we know. Use a name like Europe/Lisbon or America/Sao_Paulo.
account-browsers-remembered = { $count ->
    [one] One browser is remembered: signing in there skips the second step.
   *[other] { $count } browsers are remembered: signing in there skips the second step.
}
account-browsers-forget = Forget remembered browsers
account-browsers-forgotten = Every remembered browser will ask for the second step again.
