# Autosserviço: registo, confirmação do endereço, redefinição da palavra-passe, convites
# (templates/accounts/, src/pages/registration/).

## Registo
register-title = Criar uma conta
register-name = Nome (opcional)
register-password = Palavra-passe (opcional: sem ela inicia sessão com um código por email ou SMS)
register-submit = Criar conta
register-have-account = Já tem uma conta?
register-sign-in = Iniciar sessão
register-email-invalid = Introduza um endereço de email válido, ou um número de telemóvel com o indicativo do país.
register-closed = O registo está desativado aqui. Peça uma conta a um administrador.

## Códigos (accounts/code.html)
verify-title = Confirme o seu endereço de email
verify-code-wrong = Esse código não está correto. Verifique-o e tente novamente.
verify-code-dead = Este código já não pode ser utilizado. Comece de novo para receber outro.
verify-code-expired = Este código expirou. Comece de novo.
verify-invalid-request = Pedido inválido.

## Redefinição da palavra-passe
forgot-title = Esqueceu-se da palavra-passe?
forgot-intro = Introduza o seu endereço de email ou número de telemóvel. Se pertencer a uma conta, enviamos um código para escolher uma nova palavra-passe.
forgot-submit = Enviar um código
reset-title = Escolha uma nova palavra-passe

## Convites
invitation-title = Escolha a sua palavra-passe
invitation-made-start = Foi criada uma conta para
invitation-made-end = . Escolha uma palavra-passe para começar a utilizá-la.
invitation-submit = Definir a minha palavra-passe
invitation-done-heading = A sua palavra-passe está definida
invitation-ready = A sua conta { $email } está pronta.
invitation-sign-in = Iniciar sessão
invitation-dead = Esta ligação de convite já foi utilizada ou expirou. Peça uma nova.
register-identifier-hint = Com um número de telemóvel, confirmamo-lo por SMS; com um endereço de email, por email.
verify-phone-title = Confirme o seu número de telemóvel
register-number-taken = Este número já tem uma conta. Inicie sessão.
