# Words every page shares.
language-name = English
language-switch = Language
field-email = Email
field-password = Password
field-code = Code
