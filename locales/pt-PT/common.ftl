# Palavras que todas as páginas partilham.
language-name = Português
language-switch = Idioma
field-email = Email
field-password = Palavra-passe
field-code = Código
