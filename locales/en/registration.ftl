# Self-service: registration, confirming the address, password reset, invitations
# (templates/accounts/, src/pages/registration/).

## Registration
register-title = Create an account
register-name = Name (optional)
register-password = Password (optional: without one you sign in with a code by email or text message)
register-submit = Create account
register-have-account = Already have an account?
register-sign-in = Sign in
register-email-invalid = Enter a valid email address, or a mobile number with its country code.
register-closed = Registration is switched off here. Ask an administrator for an account.

## Codes (accounts/code.html)
verify-title = Confirm your email address
verify-code-wrong = That code is not right. Check it and try again.
verify-code-dead = This code can no longer be used. Start again for a new one.
verify-code-expired = This code has expired. Start again.
verify-invalid-request = Invalid request.

## Password reset
forgot-title = Forgot your password?
forgot-intro = Enter your email address or mobile number. If it belongs to an account, we send a code to choose a new password.
forgot-submit = Send a code
reset-title = Choose a new password

## Invitations
invitation-title = Choose your password
invitation-made-start = An account was made for
invitation-made-end = . Choose a password to start using it.
invitation-submit = Set my password
invitation-done-heading = Your password is set
invitation-ready = Your account { $email } is ready.
invitation-sign-in = Sign in
invitation-dead = This invitation link was used already or has expired. Ask for a new one.
register-identifier-hint = With a mobile number, we confirm it by text message; with an email address, by email.
verify-phone-title = Confirm your mobile number
register-number-taken = This number already has an account. Sign in instead.
