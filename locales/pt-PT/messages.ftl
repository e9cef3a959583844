# Email e SMS (templates/emails/, src/notify/mod.rs, src/otp/mod.rs).

## Para que serve um código: completa "Use-o para …" e "O seu código para … é:"
purpose-sign-in = iniciar sessão
purpose-verify-email = confirmar o seu endereço de email
purpose-verify-phone = confirmar o seu número de telemóvel
purpose-change-email = confirmar o seu novo endereço de email
purpose-reset-password = redefinir a sua palavra-passe
purpose-second-factor = concluir o início de sessão

## Um código de utilização única (o próprio código vem antes do assunto e do SMS)
email-code-subject = é o seu código Porta para { $action }
email-code-is = O seu código é:
email-code-html-intro = O seu código para { $action } é:
email-code-use-it = Use-o para { $action }.
email-code-expires = { $minutes ->
    [one] Funciona uma vez e expira dentro de { $minutes } minuto. Introduza-o na página onde o pediu.
   *[other] Funciona uma vez e expira dentro de { $minutes } minutos. Introduza-o na página onde o pediu.
}
email-code-not-you = Se não foi você, pode ignorar esta mensagem: ninguém pode utilizar o código sem a página onde foi pedido.
sms-code = { $minutes ->
    [one] é o seu código Porta para { $action }. Expira dentro de { $minutes } minuto. Não o partilhe.
   *[other] é o seu código Porta para { $action }. Expira dentro de { $minutes } minutos. Não o partilhe.
}

## Alguém tentou registar-se com um endereço já utilizado
email-exists-subject = Alguém tentou registar-se com o seu endereço
email-exists-intro = Alguém (talvez você) tentou criar uma conta Porta com este endereço de email, mas já tem uma.
email-exists-if-you = Se foi você, inicie sessão; se se esqueceu da palavra-passe, use "Esqueceu-se da palavra-passe?" na página de início de sessão.
email-exists-not-you = Se não foi você, pode ignorar esta mensagem. Nada foi alterado.

## Mudou uma forma de iniciar sessão ({ $change } vem de account-change-… em account.ftl)
email-changed-subject = A sua conta Porta: { $change }
email-changed-text-intro = Mudou uma forma de iniciar sessão na sua conta Porta: { $change }.
email-changed-html-intro = Mudou uma forma de iniciar sessão na sua conta Porta:
email-changed-if-you = Se foi você, não precisa de fazer nada.
email-changed-not-you = Se não foi você, inicie sessão já, altere a sua palavra-passe e use "Terminar sessão em todo o lado" na página da sua conta; depois verifique o seu número de telemóvel, endereço de email e aplicação de autenticação.

## Um convite
email-invitation-subject = Recebeu um convite para o Porta
email-invitation-text-intro = { $days ->
    [one] Foi criada uma conta para si. Escolha aqui a sua palavra-passe (a ligação funciona uma vez, durante { $days } dia):
   *[other] Foi criada uma conta para si. Escolha aqui a sua palavra-passe (a ligação funciona uma vez, durante { $days } dias):
}
email-invitation-html-intro = { $days ->
    [one] Foi criada uma conta para si. Escolha a sua palavra-passe (a ligação funciona uma vez, durante { $days } dia):
   *[other] Foi criada uma conta para si. Escolha a sua palavra-passe (a ligação funciona uma vez, durante { $days } dias):
}
email-invitation-ignore = Se não estava à espera disto, ignore este email: nada acontece enquanto a ligação não for utilizada.
sms-method-changed = Porta: uma forma de iniciar sessão na sua conta foi alterada: { $change }. Se não foi você, inicie sessão e proteja a sua conta.
sms-number-taken = Porta: alguém tentou criar uma conta com este número, mas ele já tem uma. Se foi você, inicie sessão (ou redefina a palavra-passe). Se não, ignore esta mensagem.
