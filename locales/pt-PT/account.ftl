# A página da conta e o que dela parte (templates/accounts/, src/pages/account/).

## A página da conta
account-title = A sua conta
account-admin-link = Administração
account-profile-heading = Perfil
account-name-label = Nome
account-name-save = Guardar nome
account-name-saved = O seu nome foi guardado.
account-email-label = Alterar o seu endereço de email
account-email-send = Enviar um código para o novo endereço
account-email-invalid = Introduza um endereço de email válido.
account-email-changed = O seu endereço de email foi alterado.
account-email-taken = Esse endereço pertence a outra conta.
account-about-heading = Sobre si
account-attribute-list-hint = (separados por vírgulas)
account-attribute-yes = sim
account-attribute-no = não
account-attribute-number = { $label } tem de ser um número.
account-attributes-save = Guardar
account-attributes-saved = Guardado.
account-phone-heading = Telemóvel
account-phone-confirmed = (confirmado): pode iniciar sessão com um código por SMS.
account-phone-add = Adicionar um número de telemóvel
account-phone-change = Alterar o seu número de telemóvel
account-phone-send = Enviar um código
account-phone-done = O seu número de telemóvel está confirmado.
account-phone-taken = Esse número pertence a outra conta.
account-totp-heading = Verificação em dois passos
account-totp-on = Ativada: o início de sessão pede um código da sua aplicação de autenticação. Códigos de recuperação restantes: { $count }.
account-totp-off = Desativada. Adicione uma aplicação de autenticação para que uma palavra-passe, por si só, não baste para abrir a sua conta.
account-totp-turn-off = Desativar
account-totp-is-off = A verificação em dois passos está desativada.
account-recovery-new = Criar novos códigos de recuperação
account-recovery-needs-totp = Inicie sessão novamente (termine a sessão e volte a iniciá-la) para criar novos códigos de recuperação.
account-password-current = Palavra-passe atual
account-password-new = Nova palavra-passe
account-password-change = Alterar palavra-passe
account-password-set = Definir uma palavra-passe
account-password-wrong = A palavra-passe atual não está correta.
account-password-changed = A sua palavra-passe foi alterada. As outras sessões foram terminadas.
account-sessions-heading = Sessões e dispositivos
account-session-current = (este navegador)
account-session-first-seen = visto pela primeira vez em { $when }
account-session-last-seen = visto pela última vez em { $when }
account-session-unknown-browser = Navegador desconhecido
account-session-end = Terminar
account-session-ended = A sessão foi terminada.
account-sign-out-everywhere = Terminar sessão em todo o lado
account-sign-out = Terminar sessão
account-data-heading = Os seus dados
account-data-download = Transferir os meus dados (JSON)
account-delete-button = Eliminar a minha conta…
account-apps-heading = Aplicações ligadas
account-apps-none = Nenhuma aplicação tem acesso à sua conta.
account-app-since = ({ $scopes }, desde { $since })
account-app-remove = Remover acesso
account-app-removed = A aplicação já não pode utilizar a sua conta.

## Primeiro, um início de sessão recente: "…antes de { $doing }."
account-fresh-sign-in = Por segurança, inicie sessão novamente (termine a sessão e volte a iniciá-la) antes de { $doing }.
account-doing-export = transferir os seus dados
account-doing-delete = eliminar a sua conta
account-doing-set-password = definir uma palavra-passe
account-doing-phone = adicionar ou alterar um número de telemóvel
account-doing-email = alterar o seu endereço de email
account-doing-totp-setup = configurar uma aplicação de autenticação
account-doing-totp-off = desativar a verificação em dois passos
account-doing-recovery = criar novos códigos de recuperação

## O que mudou, como o diz o email ao titular
account-change-password = a palavra-passe foi alterada
account-change-password-set = foi definida uma palavra-passe
account-change-phone-start = o número de telemóvel terminado em
account-change-phone-end = pode agora iniciar sessão
account-change-email = o endereço de email da conta foi alterado
account-change-totp-added = foi adicionada uma aplicação de autenticação
account-change-totp-off = a verificação em dois passos foi desativada
account-change-recovery = foram criados novos códigos de recuperação (os antigos deixaram de funcionar)
account-change-deletion = eliminação pedida: a conta será apagada após { $date }; inicie sessão antes disso para a manter

## Confirmar um número de telemóvel ou endereço de email com um código (accounts/code.html)
account-confirm-phone-title = Confirme o seu número de telemóvel
account-confirm-email-title = Confirme o seu novo endereço de email
account-code-sent-start = Se
account-code-sent-end = puder recebê-lo, enviámos para lá um código de 6 dígitos. Funciona uma vez, neste navegador, durante alguns minutos.
account-code-continue = Continuar
account-code-wrong = Esse código não está correto ou já não pode ser utilizado.
account-code-expired = Este código expirou. Comece de novo.
account-code-not-sent = Não foi possível enviar um código: { $reason }.
account-invalid-request = Pedido inválido.

## A aplicação de autenticação
account-totp-setup = Configurar uma aplicação de autenticação
account-totp-scan = Leia este código com a sua aplicação de autenticação ou introduza a chave abaixo.
account-totp-qr-alt = Código QR para a sua aplicação de autenticação
account-totp-key = Chave:
account-totp-code-label = O código de 6 dígitos que a aplicação mostra
account-totp-turn-on = Ativar
account-totp-already = Já está configurada uma aplicação de autenticação.
account-totp-wrong-code = Esse código não estava correto. Configure a aplicação novamente e introduza o código atual.
account-recovery-title = Códigos de recuperação
account-recovery-heading = Os seus códigos de recuperação
account-recovery-keep = Guarde-os num local seguro. Cada um permite-lhe iniciar sessão uma vez, se perder a sua aplicação de autenticação. Só são mostrados agora.
account-recovery-done = Concluído

## Eliminar a conta
account-leave-title = Eliminar a sua conta
account-leave-heading = Eliminar a sua conta?
account-leave-sessions-start = Todas as sessões de
account-leave-sessions-end = terminam e todas as aplicações perdem o acesso de imediato.
account-leave-erased-after = { $days ->
    [one] A conta e os seus dados pessoais são apagados após { $days } dia; se iniciar sessão antes disso, a conta mantém-se.
   *[other] A conta e os seus dados pessoais são apagados após { $days } dias; se iniciar sessão antes disso, a conta mantém-se.
}
account-leave-erased-now = A conta e os seus dados pessoais são apagados agora.
account-leave-download-start = Talvez queira
account-leave-download-link = transferir os seus dados
account-leave-download-end = primeiro.
account-leave-confirm = Eliminar a minha conta
account-leave-keep = Manter a conta
account-leave-done-heading = A sua conta está a ser eliminada
account-leave-deleted = A conta { $email } foi eliminada, com tudo o que o Porta guardava sobre ela.
account-leave-pending = A sua sessão foi terminada em todo o lado e todas as aplicações perderam o acesso. A conta { $email } será apagada após { $date }.
account-leave-changed-mind = Mudou de ideias? Inicie sessão antes dessa data e a conta mantém-se.
account-language-label = Idioma
account-language-auto = O que o meu navegador pedir
account-zone-label = Fuso horário (como Europe/Lisbon; vazio para UTC)
account-preferences-save = Guardar idioma e fuso horário
account-preferences-saved = Idioma e fuso horário guardados.
account-language-unknown = Escolha um dos idiomas da lista.
account-zone-unknown = Não conhecemos esse fuso horário. Use um nome como Europe/Lisbon ou America/Sao_Paulo.
account-browsers-remembered = { $count ->
    [one] Um navegador está memorizado: iniciar sessão nele dispensa o segundo passo.
   *[other] { $count } navegadores estão memorizados: iniciar sessão neles dispensa o segundo passo.
}
account-browsers-forget = Esquecer os navegadores memorizados
account-browsers-forgotten = Todos os navegadores memorizados voltarão a pedir o segundo passo.
