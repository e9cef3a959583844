# Email and SMS (templates/emails/, src/notify/mod.rs, src/otp/mod.rs).

## What a code is for: finishes "Use it to …" and "Your code to … is:"
purpose-sign-in = sign in
purpose-verify-email = confirm your email address
purpose-verify-phone = confirm your phone number
purpose-change-email = confirm your new email address
purpose-reset-password = reset your password
purpose-second-factor = finish signing in

## A one-time code (the code itself comes before the subject and the SMS)
email-code-subject = is your Porta code to { $action }
email-code-is = Your code is:
email-code-html-intro = Your code to { $action } is:
email-code-use-it = Use it to { $action }.
email-code-expires = It works once and expires in { $minutes } minutes. Enter it on the page where you asked for it.
email-code-not-you = If this was not you, you can ignore this message: nobody can use the code without the page it was asked for on.
sms-code = is your Porta code to { $action }. It expires in { $minutes } minutes. Do not share it.

## Someone tried to register with a taken address
email-exists-subject = Someone tried to register with your address
email-exists-intro = Someone (perhaps you) tried to create a Porta account with this email address, but you already have one.
email-exists-if-you = If it was you, sign in instead; if you forgot your password, use "Forgot your password?" on the sign-in page.
email-exists-not-you = If it was not you, you can ignore this message. Nothing has changed.

## A way to sign in changed ({ $change } comes from account.ftl's account-change-…)
email-changed-subject = Your Porta account: { $change }
email-changed-text-intro = A way to sign in to your Porta account changed: { $change }.
email-changed-html-intro = A way to sign in to your Porta account changed:
email-changed-if-you = If it was you, there is nothing to do.
email-changed-not-you = If it was not you, sign in now, change your password, and use "Sign out everywhere" on your account page; then check your phone number, email address and authenticator app.

## An invitation
email-invitation-subject = You are invited to Porta
email-invitation-text-intro = An account was made for you. Choose your password here (the link works once, for { $days } days):
email-invitation-html-intro = An account was made for you. Choose your password (the link works once, for { $days } days):
email-invitation-ignore = If you did not expect this, ignore this email: nothing happens until the link is used.
sms-method-changed = Porta: a way to sign in to your account changed: { $change }. If this was not you, sign in and secure your account.
sms-number-taken = Porta: someone tried to create an account with this number, but it already has one. If it was you, sign in (or reset your password). If not, ignore this message.
